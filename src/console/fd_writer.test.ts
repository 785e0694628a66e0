import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FdWriter } from './fd_writer.js';

test('buffers bytes and writes them in order on flush and when full', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-fdw-'));
  const path = join(dir, 'out');
  const fd = openSync(path, 'w');
  const w = new FdWriter(fd, 4);
  for (const c of 'hello') w.put(c.charCodeAt(0));
  assert.equal(readFileSync(path, 'utf8'), 'hell', 'a full buffer is written at once');
  assert.equal(w.pending, 1);
  w.flush();
  assert.equal(readFileSync(path, 'utf8'), 'hello');
  closeSync(fd);
  rmSync(dir, { recursive: true });
});

test('a closed fd marks the writer broken instead of throwing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-fdw-'));
  const fd = openSync(join(dir, 'out'), 'w');
  closeSync(fd);
  const w = new FdWriter(fd);
  w.put(65);
  w.flush();
  assert.equal(w.broken, true);
  rmSync(dir, { recursive: true });
});
