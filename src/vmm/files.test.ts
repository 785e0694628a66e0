import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readInputFile, InputFileError } from './files.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvmm-files-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('reads a regular file', () => {
  writeFileSync(join(dir, 'k'), 'abc');
  assert.deepEqual([...readInputFile('kernel', join(dir, 'k'), 10)], [97, 98, 99]);
});

for (const [name, setup, pattern] of [
  ['missing', () => join(dir, 'nope'), /kernel .*nope: no such file/],
  ['directory', () => dir, /is a directory/],
  ['empty', () => (writeFileSync(join(dir, 'e'), ''), join(dir, 'e')), /is empty/],
  ['too large', () => (writeFileSync(join(dir, 'big'), Buffer.alloc(11)), join(dir, 'big')), /11 bytes is larger/],
  ['not regular', () => '/dev/null', /not a regular file/],
] as Array<[string, () => string, RegExp]>) {
  test(`rejects a ${name} file with one clear line`, () => {
    assert.throws(() => readInputFile('kernel', setup(), 10), (e: unknown) => e instanceof InputFileError && pattern.test(e.message) && !e.message.includes('\n'));
  });
}
