import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { ARM64_COMMAND_LINE_SIZE, loadArm64Boot, planArm64Boot } from './boot.js';
import { GiB, LAYOUT, MiB } from './layout.js';
import { FDT } from './fdt.js';
import { cellsOf, nodeAt, readFdt, stringsOf } from './fdt_reader.fixture.js';
import { GuestMemory } from '../../memory/guest_memory.js';
import { KernelFormatError, KernelLoadError } from '../../loader/errors.js';
import { mockBzImage, mockElf } from '../../loader/images.fixture.js';
import { debianArm64ImagePath, mockArm64Image, NO_ARM64_KERNEL } from '../../loader/arm64_image.fixture.js';

const cmdline = 'console=ttyS0';

test('kernel at the start of RAM + text_offset; DTB in the top 2 MiB; initrd right below it', () => {
  const initrd = new Uint8Array(3 * MiB + 123);
  const p = planArm64Boot({ kernel: mockArm64Image({ textOffset: 0x80000 }), initrd, cmdline }, 256 * MiB);
  assert.equal(p.kernelAddr, LAYOUT.RAM_START + 0x80000);
  assert.equal((p.kernelAddr - 0x80000) % (2 * MiB), 0, 'the base is 2 MiB aligned');
  assert.equal(p.fdtAddr, LAYOUT.RAM_START + 254 * MiB);
  assert.equal(p.fdtAddr % (2 * MiB), 0);
  assert.ok(p.initrd !== undefined);
  assert.equal(p.initrd.addr % LAYOUT.INITRD_ALIGN, 0);
  assert.ok(p.initrd.addr + initrd.length <= p.fdtAddr, 'the initrd ends below the DTB');
  assert.ok(p.fdtAddr - (p.initrd.addr + initrd.length) < LAYOUT.INITRD_ALIGN, 'and right below it');
  assert.ok(p.initrd.addr >= p.kernelAddr + p.image.effectiveSize);
  assert.match(p.description, /^arm64 Image \(text_offset 0x80000, 0\.2 MiB, 4K pages\)$/);
});

test('with much RAM, the initrd and DTB stay in the 32 GiB window that covers the kernel', () => {
  const p = planArm64Boot({ kernel: mockArm64Image(), initrd: new Uint8Array(MiB), cmdline }, 64 * GiB);
  assert.equal(p.fdtAddr + LAYOUT.FDT_MAX_SIZE, LAYOUT.RAM_START + 32 * GiB);
  assert.ok(Math.floor(p.initrd!.addr / GiB) >= Math.floor(LAYOUT.RAM_START / GiB));
});

test('too little RAM is a KernelLoadError asking for more', () => {
  const kernel = mockArm64Image({ imageSize: 60 * MiB });
  assert.throws(() => planArm64Boot({ kernel, initrd: new Uint8Array(8 * MiB), cmdline }, 64 * MiB), (e: Error) => e instanceof KernelLoadError && /need about 70 MiB but the guest has 64 MiB: give it more with -m/.test(e.message));
  assert.doesNotThrow(() => planArm64Boot({ kernel, initrd: undefined, cmdline }, 64 * MiB));
});

test('other kernel formats are refused by their bytes', () => {
  const plan = (kernel: Uint8Array): unknown => planArm64Boot({ kernel, initrd: undefined, cmdline }, 256 * MiB);
  assert.throws(() => plan(mockBzImage()), (e: Error) => e instanceof KernelFormatError && /x86 bzImage cannot boot on this arm64 host/.test(e.message));
  assert.throws(() => plan(mockElf()), (e: Error) => e instanceof KernelFormatError && /ELF vmlinux/.test(e.message));
  assert.throws(() => plan(new TextEncoder().encode('#!/bin/sh\n'.repeat(10))), /no arm64 Image header/);
  const truncated = mockArm64Image({ textOffset: 0x1000 });
  truncated[0x38] = 0;
  assert.throws(() => plan(truncated), KernelFormatError);
});

test('a gzip-compressed Image boots like the raw one', () => {
  const raw = mockArm64Image();
  const p = planArm64Boot({ kernel: gzipSync(raw), initrd: undefined, cmdline }, 256 * MiB);
  assert.deepEqual(p.image.bytes, raw);
  assert.match(p.description, /gzip\)$/);
});

test('the command line must fit arm64 COMMAND_LINE_SIZE and hold no NUL', () => {
  const kernel = mockArm64Image();
  assert.throws(() => planArm64Boot({ kernel, initrd: undefined, cmdline: 'x'.repeat(ARM64_COMMAND_LINE_SIZE) }, 256 * MiB), /2048 bytes; arm64 Linux takes at most 2047/);
  assert.throws(() => planArm64Boot({ kernel, initrd: undefined, cmdline: 'a\0b' }, 256 * MiB), /NUL/);
});

test('loading writes the kernel, the initrd and a DTB that points at the initrd', () => {
  const kernel = mockArm64Image();
  const initrd = new Uint8Array(5000).fill(0xab);
  const p = planArm64Boot({ kernel, initrd, cmdline }, 64 * MiB);
  const memory = new GuestMemory([{ gpa: LAYOUT.RAM_START, buffer: new ArrayBuffer(64 * MiB) }]);
  const entry = loadArm64Boot(memory, p, { gicVersion: 3, mpidrs: [0] });
  assert.deepEqual(entry, { pc: p.kernelAddr, fdt: p.fdtAddr });
  assert.deepEqual(memory.slice(p.kernelAddr, kernel.length), kernel);
  assert.deepEqual(memory.slice(p.initrd!.addr, initrd.length), initrd);
  assert.equal(new DataView(memory.slice(p.fdtAddr, 4).slice().buffer).getUint32(0, false), FDT.MAGIC);
  const size = new DataView(memory.slice(p.fdtAddr + 4, 4).slice().buffer).getUint32(0, false);
  const fdt = readFdt(memory.slice(p.fdtAddr, size).slice());
  const chosen = nodeAt(fdt, '/chosen')!;
  assert.deepEqual(cellsOf(chosen.props.get('linux,initrd-start')), [0, p.initrd!.addr]);
  assert.deepEqual(cellsOf(chosen.props.get('linux,initrd-end')), [0, p.initrd!.addr + initrd.length]);
  assert.deepEqual(stringsOf(chosen.props.get('bootargs')), [cmdline]);
  assert.deepEqual(cellsOf(nodeAt(fdt, '/memory@80000000')!.props.get('reg')), [0, LAYOUT.RAM_START, 0, 64 * MiB]);
});

test('the real Debian arm64 kernel plans and loads', (t) => {
  const path = debianArm64ImagePath();
  if (path === undefined) return t.skip(NO_ARM64_KERNEL);
  const kernel = new Uint8Array(readFileSync(path));
  const p = planArm64Boot({ kernel, initrd: new Uint8Array(4 * MiB), cmdline }, 128 * MiB);
  assert.equal(p.kernelAddr, LAYOUT.RAM_START, 'text_offset 0');
  assert.ok(p.initrd!.addr >= p.kernelAddr + p.image.effectiveSize);
  const memory = new GuestMemory([{ gpa: LAYOUT.RAM_START, buffer: new ArrayBuffer(128 * MiB) }]);
  loadArm64Boot(memory, p, { gicVersion: 2, mpidrs: [0] });
  assert.deepEqual(memory.slice(LAYOUT.RAM_START + 0x38, 4), new Uint8Array([0x41, 0x52, 0x4d, 0x64]), '"ARM\\x64" in guest RAM');
});
