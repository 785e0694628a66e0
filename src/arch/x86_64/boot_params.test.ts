import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseBzImage, SETUP_HEADER } from '../../loader/bzimage.js';
import { debianBzImagePath, mockBzImage, NO_DEBIAN_KERNEL } from '../../loader/images.fixture.js';
import { GuestMemory } from '../../memory/guest_memory.js';
import {
  BOOT_PARAMS,
  BootParamsError,
  buildBootParams,
  bzImageMemoryEnd,
  CmdlineError,
  encodeCmdline,
  InitrdPlacementError,
  placeInitrd,
  writeCmdline,
} from './boot_params.js';
import { E820_TYPE, e820Map, lowRamEnd } from './e820.js';
import { LAYOUT, MiB } from './layout.js';

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

test('copies a bzImage setup header and fills the loader fields', () => {
  const bz = parseBzImage(mockBzImage({ cmdlineSize: 1000 }));
  const e820 = e820Map(256 * MiB);
  const zp = buildBootParams({ setupHeader: bz.setupHeader, cmdlineAddr: LAYOUT.CMDLINE_START, initrd: { addr: 0xf000000, size: 0x123456 }, e820 });
  const dv = view(zp);
  assert.equal(zp.length, 4096);
  assert.equal(dv.getUint16(SETUP_HEADER.BOOT_FLAG, true), 0xaa55);
  assert.equal(dv.getUint32(SETUP_HEADER.HEADER, true), 0x53726448);
  assert.equal(dv.getUint32(SETUP_HEADER.CMDLINE_SIZE, true), 1000, 'kernel fields copied');
  assert.equal(zp[SETUP_HEADER.TYPE_OF_LOADER], 0xff);
  assert.equal(zp[SETUP_HEADER.LOADFLAGS], 0x81, 'LOADED_HIGH kept, CAN_USE_HEAP added');
  assert.equal(dv.getUint16(SETUP_HEADER.HEAP_END_PTR, true), 0xfe00);
  assert.equal(dv.getUint32(SETUP_HEADER.CMD_LINE_PTR, true), 0x20000);
  assert.equal(dv.getUint32(BOOT_PARAMS.EXT_CMD_LINE_PTR, true), 0);
  assert.equal(dv.getUint32(SETUP_HEADER.RAMDISK_IMAGE, true), 0xf000000);
  assert.equal(dv.getUint32(SETUP_HEADER.RAMDISK_SIZE, true), 0x123456);
  assert.equal(zp[BOOT_PARAMS.SENTINEL], 0);
  assert.equal(zp[BOOT_PARAMS.E820_ENTRIES], 3);
  e820.forEach((e, i) => {
    const at = BOOT_PARAMS.E820_TABLE + i * 20;
    assert.equal(Number(dv.getBigUint64(at, true)), e.addr);
    assert.equal(Number(dv.getBigUint64(at + 8, true)), e.size);
    assert.equal(dv.getUint32(at + 16, true), e.type);
  });
  assert.equal(zp[BOOT_PARAMS.E820_TABLE + 3 * 20], 0, 'nothing after the last entry');
});

test('splits addresses above 4 GiB into the ext_ fields', () => {
  const e820 = e820Map(6 * 1024 * MiB);
  const zp = buildBootParams({ cmdlineAddr: 0x1_2345_6000, initrd: { addr: 0x2_0000_1000, size: 0x1_0000_0002 }, e820 });
  const dv = view(zp);
  assert.equal(dv.getUint32(SETUP_HEADER.CMD_LINE_PTR, true), 0x2345_6000);
  assert.equal(dv.getUint32(BOOT_PARAMS.EXT_CMD_LINE_PTR, true), 1);
  assert.equal(dv.getUint32(SETUP_HEADER.RAMDISK_IMAGE, true), 0x1000);
  assert.equal(dv.getUint32(BOOT_PARAMS.EXT_RAMDISK_IMAGE, true), 2);
  assert.equal(dv.getUint32(SETUP_HEADER.RAMDISK_SIZE, true), 2);
  assert.equal(dv.getUint32(BOOT_PARAMS.EXT_RAMDISK_SIZE, true), 1);
  const last = BOOT_PARAMS.E820_TABLE + 3 * 20;
  assert.equal(dv.getBigUint64(last, true), 0x1_0000_0000n);
  assert.equal(dv.getBigUint64(last + 8, true), 0xc000_0000n);
});

test('synthesises a minimal setup header for an ELF vmlinux', () => {
  const zp = buildBootParams({ cmdlineAddr: LAYOUT.CMDLINE_START, e820: e820Map(128 * MiB) });
  const dv = view(zp);
  assert.equal(dv.getUint16(SETUP_HEADER.BOOT_FLAG, true), 0xaa55);
  assert.equal(dv.getUint32(SETUP_HEADER.HEADER, true), 0x53726448);
  assert.ok(dv.getUint16(SETUP_HEADER.VERSION, true) >= 0x0206);
  assert.equal(zp[SETUP_HEADER.TYPE_OF_LOADER], 0xff);
  assert.equal(zp[SETUP_HEADER.LOADFLAGS]! & 0x81, 0x81);
  assert.equal(dv.getUint32(SETUP_HEADER.CMDLINE_SIZE, true), 2047);
  assert.equal(dv.getUint32(SETUP_HEADER.RAMDISK_IMAGE, true), 0, 'no initrd');
});

test('rejects too many e820 entries, bad addresses and oversized headers', () => {
  const many = Array.from({ length: 129 }, (_, i) => ({ addr: i * 0x1000, size: 0x1000, type: E820_TYPE.RAM }));
  assert.throws(() => buildBootParams({ cmdlineAddr: 0x20000, e820: many }), (e: unknown) => e instanceof BootParamsError && /129 e820 entries/.test(e.message));
  assert.throws(() => buildBootParams({ cmdlineAddr: -1, e820: [] }), BootParamsError);
  assert.throws(() => buildBootParams({ cmdlineAddr: 0x20000, e820: [{ addr: 0.5, size: 1, type: 1 }] }), /e820 entry 0 address/);
  assert.throws(() => buildBootParams({ setupHeader: new Uint8Array(0xa0), cmdlineAddr: 0x20000, e820: [] }), /does not fit boot_params/);
});

test('places the initrd page-aligned at the top of low RAM, under initrd_addr_max', () => {
  const ram = lowRamEnd(512 * MiB);
  assert.equal(placeInitrd({ size: 0x12345, kernelEnd: 0x5000000, initrdAddrMax: 0x7fffffff, lowRamEnd: ram }), 512 * MiB - 0x13000);
  // initrd_addr_max is inclusive: the last byte may sit at 0x37ffffff.
  const capped = placeInitrd({ size: 0x1000, kernelEnd: 0x5000000, initrdAddrMax: 0x37ffffff, lowRamEnd: 2048 * MiB });
  assert.equal(capped, 0x37fff000);
  const exact = placeInitrd({ size: 0x1000, kernelEnd: 0x1000, initrdAddrMax: 0xffffffff, lowRamEnd: 0x2000 });
  assert.equal(exact, 0x1000, 'fits exactly above the kernel');
});

test('says why an initrd does not fit', () => {
  const p = { kernelEnd: 0x5000000, initrdAddrMax: 0x7fffffff, lowRamEnd: 128 * MiB };
  assert.throws(
    () => placeInitrd({ ...p, size: 256 * MiB }),
    (e: unknown) => e instanceof InitrdPlacementError && /initrd of 268435456 bytes does not fit: only 50331648 bytes are free/.test(e.message),
  );
  assert.throws(() => placeInitrd({ ...p, size: 0 }), InitrdPlacementError);
  assert.throws(() => placeInitrd({ ...p, kernelEnd: 200 * MiB, size: 0x1000 }), /only 0 bytes are free/);
});

test('bzImageMemoryEnd follows the decompressor: aligned load address, never below pref_address', () => {
  const bz = parseBzImage(mockBzImage({ prefAddress: 0x1000000, initSize: 0x3000000, kernelAlignment: 0x200000 }));
  assert.equal(bzImageMemoryEnd(bz, 0x100000), 0x1000000 + 0x3000000);
  assert.equal(bzImageMemoryEnd(bz, 0x2100000), 0x2200000 + 0x3000000);
  const fixed = parseBzImage(mockBzImage({ relocatable: false, prefAddress: 0x1000000, initSize: 0x100000 }));
  assert.equal(bzImageMemoryEnd(fixed, 0x4000000), 0x4000000 + fixed.kernel.length, 'never less than the image itself');
});

test('encodes and writes the command line within cmdline_size', () => {
  assert.deepEqual([...encodeCmdline('ro', 10)], [0x72, 0x6f, 0]);
  assert.equal(encodeCmdline('x'.repeat(255), 255).length, 256, 'the limit excludes the NUL');
  assert.throws(() => encodeCmdline('x'.repeat(256), 255), (e: unknown) => e instanceof CmdlineError && /256 bytes, the kernel accepts at most 255/.test(e.message));
  assert.throws(() => encodeCmdline('é'.repeat(128), 255), /256 bytes/, 'counted in UTF-8 bytes');
  assert.throws(() => encodeCmdline('a\0b', 255), /NUL/);
  assert.throws(() => encodeCmdline('x'.repeat(0x10000), 0xffffffff), CmdlineError, 'bounded by the reserved area too');
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(0x30000) }]);
  mem.fill(LAYOUT.CMDLINE_START, 16, 0xff);
  assert.equal(writeCmdline(mem, 'console=ttyS0', 2047), 14);
  assert.equal(new TextDecoder().decode(mem.slice(LAYOUT.CMDLINE_START, 13)), 'console=ttyS0');
  assert.equal(mem.readU8(LAYOUT.CMDLINE_START + 13), 0);
});

test('a real Debian bzImage: zero page, footprint and initrd placement', (t) => {
  const path = debianBzImagePath();
  if (path === undefined) return t.skip(NO_DEBIAN_KERNEL);
  const bz = parseBzImage(new Uint8Array(readFileSync(path)));
  const memSize = 512 * MiB;
  const end = bzImageMemoryEnd(bz);
  assert.ok(end >= bz.prefAddress + bz.initSize && end < memSize, `kernel footprint ends at 0x${end.toString(16)}`);
  const initrdSize = 16 * MiB + 123;
  const addr = placeInitrd({ size: initrdSize, kernelEnd: end, initrdAddrMax: bz.initrdAddrMax, lowRamEnd: lowRamEnd(memSize) });
  assert.equal(addr % 4096, 0);
  assert.ok(addr >= end && addr + initrdSize <= memSize);
  const zp = buildBootParams({ setupHeader: bz.setupHeader, cmdlineAddr: LAYOUT.CMDLINE_START, initrd: { addr, size: initrdSize }, e820: e820Map(memSize) });
  const dv = view(zp);
  assert.equal(dv.getUint16(SETUP_HEADER.VERSION, true), bz.version);
  assert.equal(dv.getUint32(SETUP_HEADER.INIT_SIZE, true), bz.initSize);
  assert.equal(dv.getUint32(SETUP_HEADER.RAMDISK_IMAGE, true), addr);
  assert.equal(zp[SETUP_HEADER.TYPE_OF_LOADER], 0xff);
});
