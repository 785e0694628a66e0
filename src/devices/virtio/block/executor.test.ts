import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestMemory } from '../../../memory/guest_memory.js';
import { BlockExecutor } from './executor.js';
import { FileBackend, type BlockBackend } from './backend.js';
import { VIRTIO_BLK_S } from './constants.js';
import { BlockRequest } from './request.js';

const SIZE = 8 * 512;

function withDisk(fn: (path: string, fd: number) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-blk-'));
  const path = join(dir, 'disk.img');
  const initial = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) initial[i] = (i * 7 + 3) & 0xff;
  writeFileSync(path, initial);
  const fd = openSync(path, 'r+');
  try {
    fn(path, fd);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true });
  }
}

function original(): Uint8Array {
  const b = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

/** The file equals its initial contents except [start, end), which holds `fill(i)`. */
function assertOnlyChanged(path: string, start: number, end: number, fill: (i: number) => number): void {
  const now = readFileSync(path);
  const was = original();
  assert.equal(now.length, SIZE, 'file size unchanged');
  for (let i = 0; i < SIZE; i++) {
    const want = i >= start && i < end ? fill(i) : was[i];
    if (now[i] !== want) assert.fail(`byte ${i} is ${now[i]}, expected ${want}`);
  }
}

const mem = () => new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(0x10000) }]);
const quiet = () => {};

test('IN reads the right sectors into guest memory with one request, OUT writes exactly its bytes', () => {
  withDisk((path, fd) => {
    const m = mem();
    const d = new BlockExecutor({ size: SIZE, readOnly: false, serial: 's', log: quiet });
    const backend = new FileBackend(fd);
    const read = BlockRequest.of({ kind: 'in', sector: 2, data: [{ gpa: 0x100, len: 300 }, { gpa: 0x800, len: 724 }], bytes: 1024, status: 0x50 });
    m.writeU8(0x50, 0xff);
    assert.equal(d.execute(m, read, backend), 1025);
    assert.equal(m.readU8(0x50), VIRTIO_BLK_S.OK);
    const want = original().subarray(1024, 2048);
    assert.deepEqual(m.slice(0x100, 300), want.subarray(0, 300));
    assert.deepEqual(m.slice(0x800, 724), want.subarray(300));
    m.fill(0x2000, 512, 0xab);
    m.fill(0x3000, 512, 0xcd);
    const write = BlockRequest.of({ kind: 'out', sector: 5, data: [{ gpa: 0x2000, len: 512 }, { gpa: 0x3000, len: 512 }], bytes: 1024, status: 0x51 });
    assert.equal(d.execute(m, write, backend), 1);
    assert.equal(m.readU8(0x51), VIRTIO_BLK_S.OK);
    assertOnlyChanged(path, 2560, 3584, (i) => (i < 3072 ? 0xab : 0xcd));
  });
});

test('FLUSH, GET_ID, WRITE_ZEROES, DISCARD, and a parse error status', () => {
  withDisk((path, fd) => {
    const m = mem();
    const d = new BlockExecutor({ size: SIZE, readOnly: false, serial: 'serial-0123456789-abcdef', log: quiet });
    const backend = new FileBackend(fd);
    assert.equal(d.execute(m, BlockRequest.of({ kind: 'flush', status: 0x10 }), backend), 1);
    assert.equal(m.readU8(0x10), VIRTIO_BLK_S.OK);
    m.fill(0x200, 32, 0xee);
    assert.equal(d.execute(m, BlockRequest.of({ kind: 'get_id', data: [{ gpa: 0x200, len: 8 }, { gpa: 0x300, len: 12 }], bytes: 20, status: 0x11 }), backend), 21);
    const id = new TextDecoder().decode(new Uint8Array([...m.slice(0x200, 8), ...m.slice(0x300, 12)]));
    assert.equal(id, 'serial-0123456789-ab');
    assert.equal(d.execute(m, BlockRequest.of({ kind: 'write_zeroes', sector: 1, sectors: 2, unmap: false, status: 0x12 }), backend), 1);
    assertOnlyChanged(path, 512, 1536, () => 0);
    assert.equal(d.execute(m, BlockRequest.of({ kind: 'error', code: VIRTIO_BLK_S.UNSUPP, reason: 'x', status: 0x14 }), backend), 1);
    assert.equal(m.readU8(0x14), VIRTIO_BLK_S.UNSUPP);
    assert.equal(d.execute(m, BlockRequest.of({ kind: 'error', code: VIRTIO_BLK_S.IOERR, reason: 'x', status: null }), backend), 0);
    assertOnlyChanged(path, 512, 1536, () => 0);
    assert.equal(d.execute(m, BlockRequest.of({ kind: 'discard', sector: 6, sectors: 2, unmap: false, status: 0x13 }), backend), 1);
    assert.equal(m.readU8(0x13), VIRTIO_BLK_S.OK);
    // Punched where the file system can (tmpfs, ext4, xfs): reads back as zeroes.
    const after = readFileSync(path);
    assert.equal(after.length, SIZE, 'a discard never changes the size');
    assert.ok(after.subarray(3072).every((b) => b === 0) || after.subarray(3072).equals(Buffer.from(original().subarray(3072))), 'discarded range: zeroes, or untouched');
    assert.deepEqual(after.subarray(1536, 3072), Buffer.from(original().subarray(1536, 3072)), 'nothing outside the range');
  });
});

test('FLUSH writes its status only after the backend flushed', () => {
  const m = mem();
  const order: string[] = [];
  const backend: BlockBackend = {
    read: () => {},
    write: () => {},
    flush: () => order.push(`flush(status=${m.readU8(0x10)})`),
  };
  m.writeU8(0x10, 0xff);
  new BlockExecutor({ size: SIZE, readOnly: false, serial: '' }).execute(m, BlockRequest.of({ kind: 'flush', status: 0x10 }), backend);
  assert.deepEqual(order, ['flush(status=255)']);
  assert.equal(m.readU8(0x10), VIRTIO_BLK_S.OK);
});

test('host I/O errors give IOERR and a log line, and the device keeps going', () => {
  const m = mem();
  const lines: string[] = [];
  const eio = Object.assign(new Error('pwritev failed'), { code: 'ENOSPC', errno: 28 });
  const backend: BlockBackend = {
    read: () => {
      throw Object.assign(new Error('preadv failed'), { code: 'EIO', errno: 5 });
    },
    write: () => {
      throw eio;
    },
    flush: () => {},
  };
  const d = new BlockExecutor({ size: SIZE, readOnly: false, serial: '', log: (l) => lines.push(l) });
  assert.equal(d.execute(m, BlockRequest.of({ kind: 'in', sector: 0, data: [{ gpa: 0x100, len: 512 }], bytes: 512, status: 0x20 }), backend), 1);
  assert.equal(m.readU8(0x20), VIRTIO_BLK_S.IOERR);
  assert.equal(d.execute(m, BlockRequest.of({ kind: 'out', sector: 0, data: [{ gpa: 0x100, len: 512 }], bytes: 512, status: 0x21 }), backend), 1);
  assert.equal(m.readU8(0x21), VIRTIO_BLK_S.IOERR);
  assert.equal(d.execute(m, BlockRequest.of({ kind: 'flush', status: 0x22 }), backend), 1);
  assert.equal(m.readU8(0x22), VIRTIO_BLK_S.OK);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /in failed: EIO/);
  assert.match(lines[1]!, /out failed: ENOSPC/);
});

test('a file that shrank under us gives a short read, reported as IOERR', () => {
  withDisk((path, fd) => {
    const m = mem();
    const lines: string[] = [];
    const d = new BlockExecutor({ size: SIZE, readOnly: false, serial: '', log: (l) => lines.push(l) });
    writeFileSync(path, new Uint8Array(1024));
    d.execute(m, BlockRequest.of({ kind: 'in', sector: 4, data: [{ gpa: 0x100, len: 1024 }], bytes: 1024, status: 0x20 }), new FileBackend(fd));
    assert.equal(m.readU8(0x20), VIRTIO_BLK_S.IOERR);
    assert.match(lines[0]!, /ESHORT/);
  });
});

test('DISCARD frees the image\'s blocks and WRITE_ZEROES without unmap keeps them (fallocate), size unchanged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-blk-'));
  const path = join(dir, 'disk.img');
  const MiB = 1 << 20;
  writeFileSync(path, Buffer.alloc(4 * MiB, 0x5a));
  const fd = openSync(path, 'r+');
  try {
    const d = new BlockExecutor({ size: 4 * MiB, readOnly: false, serial: 's', log: quiet });
    const backend = new FileBackend(fd);
    const m = mem();
    const before = statSync(path).blocks;
    assert.equal(d.execute(m, BlockRequest.of({ kind: 'discard', sector: 2048, sectors: 4096, unmap: false, status: 0x10 }), backend), 1); // bytes 1..3 MiB
    assert.equal(m.readU8(0x10), VIRTIO_BLK_S.OK);
    const punched = statSync(path);
    assert.equal(punched.size, 4 * MiB);
    assert.ok(punched.blocks <= before - (2 * MiB) / 512, `2 MiB of blocks freed: ${before} -> ${punched.blocks} 512-byte blocks`);
    const data = readFileSync(path);
    assert.ok(data.subarray(MiB, 3 * MiB).every((b) => b === 0), 'the hole reads as zeroes');
    assert.ok(data.subarray(0, MiB).every((b) => b === 0x5a) && data.subarray(3 * MiB).every((b) => b === 0x5a), 'nothing else changed');
    // WRITE_ZEROES without UNMAP over the first MiB: zeroes, blocks kept (ZERO_RANGE).
    assert.equal(d.execute(m, BlockRequest.of({ kind: 'write_zeroes', sector: 0, sectors: 2048, unmap: false, status: 0x11 }), backend), 1);
    assert.equal(m.readU8(0x11), VIRTIO_BLK_S.OK);
    assert.ok(readFileSync(path).subarray(0, MiB).every((b) => b === 0));
    assert.equal(statSync(path).size, 4 * MiB);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true });
  }
});
