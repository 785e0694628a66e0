import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestsUpToDate } from './guests.js';

test('guestsUpToDate: missing or stale .elf files mean a rebuild; fresh ones do not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-guests-'));
  try {
    const out = join(dir, 'build');
    mkdirSync(out);
    writeFileSync(join(dir, 'build.sh'), 'set -e\nGUESTS=(hello net)\n');
    writeFileSync(join(dir, 'lib.c'), 'int x;\n');
    const extra = join(dir, 'frame.h');
    writeFileSync(extra, '');
    const at = (f: string, s: number): void => utimesSync(f, s, s);
    for (const f of ['build.sh', 'lib.c']) at(join(dir, f), 1000);
    at(extra, 1000);
    assert.equal(guestsUpToDate(dir, out, [extra]), false, 'no .elf yet');
    writeFileSync(join(out, 'hello.elf'), '');
    at(join(out, 'hello.elf'), 2000);
    assert.equal(guestsUpToDate(dir, out, [extra]), false, 'net.elf missing');
    writeFileSync(join(out, 'net.elf'), '');
    at(join(out, 'net.elf'), 2000);
    assert.equal(guestsUpToDate(dir, out, [extra]), true);
    at(join(dir, 'lib.c'), 3000);
    assert.equal(guestsUpToDate(dir, out, [extra]), false, 'a source newer than a guest');
    at(join(dir, 'lib.c'), 1000);
    at(extra, 3000);
    assert.equal(guestsUpToDate(dir, out, [extra]), false, 'an extra source newer than a guest');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
