import { test } from 'node:test';
import assert from 'node:assert/strict';
import { E820_TYPE, e820Map, lowRamEnd, MemoryLayoutError, ramRegions } from './e820.js';
import { GiB, MiB } from './layout.js';

test('small RAM is one region; e820 carves out the EBDA and the legacy hole', () => {
  assert.deepEqual(ramRegions(128 * MiB), [{ gpa: 0, size: 128 * MiB }]);
  assert.deepEqual(e820Map(128 * MiB), [
    { addr: 0, size: 0x9fc00, type: E820_TYPE.RAM },
    { addr: 0x9fc00, size: 0x400, type: E820_TYPE.RESERVED },
    { addr: 0x100000, size: 127 * MiB, type: E820_TYPE.RAM },
  ]);
  assert.equal(lowRamEnd(128 * MiB), 128 * MiB);
});

test('RAM of exactly 3 GiB still fits below the hole', () => {
  assert.deepEqual(ramRegions(3 * GiB), [{ gpa: 0, size: 3 * GiB }]);
  assert.equal(e820Map(3 * GiB).length, 3);
});

test('large RAM is split around the 32-bit MMIO hole', () => {
  const mem = 6 * GiB;
  assert.deepEqual(ramRegions(mem), [
    { gpa: 0, size: 3 * GiB },
    { gpa: 4 * GiB, size: 3 * GiB },
  ]);
  const map = e820Map(mem);
  assert.deepEqual(map.slice(2), [
    { addr: 1 * MiB, size: 3 * GiB - 1 * MiB, type: E820_TYPE.RAM },
    { addr: 4 * GiB, size: 3 * GiB, type: E820_TYPE.RAM },
  ]);
  assert.equal(lowRamEnd(mem), 3 * GiB);
  // Usable RAM = everything but the EBDA and the 640 KiB-1 MiB hole.
  const usable = map.filter((e) => e.type === E820_TYPE.RAM).reduce((a, e) => a + e.size, 0);
  assert.equal(usable, mem - (1 * MiB - 0x9fc00));
  // No entry touches the hole.
  for (const e of map) assert.ok(e.addr + e.size <= 3 * GiB || e.addr >= 4 * GiB);
});

test('rejects RAM sizes that cannot hold the layout', () => {
  for (const bad of [0, 1 * MiB, 64 * MiB + 1, -4096, 2.5, Number.NaN]) {
    assert.throws(() => ramRegions(bad), MemoryLayoutError, `${bad}`);
  }
  assert.throws(() => e820Map(1 * MiB), /larger than 1 MiB/);
});
