import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory, GuestMemoryError } from './guest_memory.js';

test('reads and writes little-endian values inside RAM', () => {
  const mem = new GuestMemory([{ gpa: 0x1000, buffer: new ArrayBuffer(0x1000) }]);
  mem.writeU32(0x1004, 0xdeadbeef);
  assert.equal(mem.readU8(0x1004), 0xef);
  assert.equal(mem.readU16(0x1006), 0xdead);
  mem.writeU64(0x1010, 0x1_2345_6789);
  assert.equal(mem.readU64(0x1010), 0x1_2345_6789);
  assert.equal(mem.readU64Big(0x1010), 0x1_2345_6789n);
});

test('rejects ranges outside RAM, overflowing or straddling regions', () => {
  const mem = new GuestMemory([
    { gpa: 0, buffer: new ArrayBuffer(0x1000) },
    { gpa: 0x2000, buffer: new ArrayBuffer(0x1000) },
  ]);
  assert.throws(() => mem.readU32(0xffe), GuestMemoryError); // straddles end of region 0
  assert.throws(() => mem.slice(0x1800, 4), GuestMemoryError); // hole
  assert.throws(() => mem.slice(0x2ff0, 0x20), GuestMemoryError);
  assert.throws(() => mem.slice(-1, 1), GuestMemoryError);
  assert.throws(() => mem.slice(Number.MAX_SAFE_INTEGER, 2), GuestMemoryError);
  assert.throws(() => mem.slice(0.5, 1), GuestMemoryError);
  assert.equal(mem.contains(0x2000, 0x1000), true);
  assert.equal(mem.contains(0xfff, 2), false);
  assert.equal(mem.size, 0x2000);
});

test('a 64-bit value beyond 2^53 is refused as a number but readable as a bigint', () => {
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(16) }]);
  mem.writeU64(0, 0xffff_ffff_ffff_ffffn);
  assert.throws(() => mem.readU64(0), GuestMemoryError);
  assert.equal(mem.readU64Big(0), 0xffff_ffff_ffff_ffffn);
});

test('memfd-backed memory is shared between two mappings', () => {
  const { memory, descriptor } = GuestMemory.create([{ gpa: 0, size: 1 << 20 }]);
  const second = GuestMemory.map(descriptor);
  memory.writeU32(0x8000, 0x12345678);
  assert.equal(second.readU32(0x8000), 0x12345678);
  second.unmap();
  memory.unmap();
});
