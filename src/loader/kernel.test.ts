import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ARM64_IMAGE, detectKernelFormat } from './kernel.js';
import { debianBzImagePath, mockBzImage, mockElf, NO_DEBIAN_KERNEL } from './images.fixture.js';

function arm64Image(): Uint8Array {
  const b = new Uint8Array(0x1000);
  b.set([0x4d, 0x5a]); // "MZ": EFI stub, as real arm64 Images have
  new DataView(b.buffer).setUint32(ARM64_IMAGE.MAGIC_OFFSET, ARM64_IMAGE.MAGIC, true);
  return b;
}

test('tells formats apart by their bytes', () => {
  assert.equal(detectKernelFormat(mockBzImage()), 'bzimage');
  assert.equal(detectKernelFormat(mockElf()), 'elf');
  assert.equal(detectKernelFormat(arm64Image()), 'arm64-image');
  assert.equal(new TextDecoder().decode(arm64Image().subarray(0x38, 0x3c)), 'ARM\x64');
});

test('says unknown for other or truncated bytes', () => {
  assert.equal(detectKernelFormat(new Uint8Array(0)), 'unknown');
  assert.equal(detectKernelFormat(new Uint8Array([0x7f, 0x45, 0x4c])), 'unknown');
  assert.equal(detectKernelFormat(new TextEncoder().encode('#!/bin/sh\necho not a kernel\n')), 'unknown');
  const noHdrS = mockBzImage();
  noHdrS[0x202] = 0;
  assert.equal(detectKernelFormat(noHdrS), 'unknown', 'boot_flag alone is a boot sector, not a bzImage');
  assert.equal(detectKernelFormat(mockBzImage().subarray(0, 0x205)), 'unknown');
});

test('a real Debian kernel is a bzImage', (t) => {
  const path = debianBzImagePath();
  if (path === undefined) return t.skip(NO_DEBIAN_KERNEL);
  assert.equal(detectKernelFormat(new Uint8Array(readFileSync(path))), 'bzimage');
});
