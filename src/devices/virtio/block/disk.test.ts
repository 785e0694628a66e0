import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, closeSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskError, diskSerial, openDisk, parseDiskSpec } from './disk.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tsvmm-disk-'));
}

test('disk specs: path and ro', () => {
  assert.deepEqual(parseDiskSpec('disk.img'), { path: 'disk.img', readOnly: false });
  assert.deepEqual(parseDiskSpec('/a/b.img,ro'), { path: '/a/b.img', readOnly: true });
  assert.throws(() => parseDiskSpec('disk.img,rw'), /unknown option "rw"/);
  assert.throws(() => parseDiskSpec(',ro'), DiskError);
});

test('opens read-write, or read-only with ,ro; never truncates; stable serial', () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'd.img');
    writeFileSync(path, new Uint8Array(4096).fill(1));
    const rw = openDisk({ path, readOnly: false });
    assert.equal(rw.readOnly, false);
    assert.equal(rw.size, 4096);
    assert.equal(rw.serial.length, 20);
    assert.equal(rw.serial, diskSerial(path));
    closeSync(rw.fd);
    const ro = openDisk({ path, readOnly: true });
    assert.equal(ro.readOnly, true);
    closeSync(ro.fd);
    assert.equal(statSync(path).size, 4096);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a read-only file opens read-only (unless we are root, who can write anything)', () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'ro.img');
    writeFileSync(path, new Uint8Array(512));
    chmodSync(path, 0o444);
    const d = openDisk({ path, readOnly: false });
    assert.equal(d.readOnly, process.getuid?.() !== 0);
    closeSync(d.fd);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('clear errors: size not a multiple of 512, empty, missing, not a file', () => {
  const dir = tempDir();
  try {
    const odd = join(dir, 'odd.img');
    writeFileSync(odd, new Uint8Array(1000));
    assert.throws(() => openDisk({ path: odd, readOnly: false }), (e: unknown) => e instanceof DiskError && e.message === `disk image ${odd}: size 1000 bytes is not a multiple of 512`);
    const empty = join(dir, 'empty.img');
    writeFileSync(empty, new Uint8Array(0));
    assert.throws(() => openDisk({ path: empty, readOnly: false }), /is empty/);
    assert.throws(() => openDisk({ path: join(dir, 'missing.img'), readOnly: false }), /cannot open: ENOENT/);
    assert.throws(() => openDisk({ path: dir, readOnly: true }), /not a regular file/);
    assert.equal(statSync(odd).size, 1000, 'the file is left alone');
  } finally {
    rmSync(dir, { recursive: true });
  }
});
