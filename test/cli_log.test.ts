// --log FILE: tsvmm's own lines go to FILE (appended, created 0600) instead
// of stderr; a FILE that cannot be opened is one line on stderr and exit 1.
// These run without KVM: a missing kernel is reported by the VMM process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTsvmm } from './helpers/tsvmm.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvmm-log-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('--log FILE: the lines go to FILE, appended, created 0600; nothing on stderr', async () => {
  const log = join(dir, 'new.log');
  for (let i = 0; i < 2; i++) {
    const r = await runTsvmm(['-k', join(dir, 'no-kernel'), '--log', log]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, '', 'stderr stays empty');
  }
  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 2, 'one line per run, appended');
  for (const l of lines) assert.match(l, /^tsvmm: kernel .*no-kernel: no such file/);
  assert.equal(statSync(log).mode & 0o777, 0o600);
});

test('--log on an existing file appends and leaves its mode alone', async () => {
  const log = join(dir, 'old.log');
  writeFileSync(log, 'earlier\n');
  chmodSync(log, 0o640);
  const r = await runTsvmm(['-k', join(dir, 'no-kernel'), `--log=${log}`]);
  assert.equal(r.code, 1);
  assert.match(readFileSync(log, 'utf8'), /^earlier\ntsvmm: kernel .*no such file/);
  assert.equal(statSync(log).mode & 0o777, 0o640);
});

test('a --log FILE that cannot be opened: one line on stderr, exit 1, nothing else happens', async () => {
  const log = join(dir, 'missing', 'x.log');
  const r = await runTsvmm(['-k', join(dir, 'no-kernel'), '--log', log]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `tsvmm: --log ${log}: cannot open it: its directory does not exist\n`);
  assert.equal(existsSync(log), false);
  const r2 = await runTsvmm(['-k', join(dir, 'no-kernel'), '--log', dir]);
  assert.equal(r2.code, 1);
  assert.equal(r2.stderr, `tsvmm: --log ${dir}: cannot open it: it is a directory\n`);
});
