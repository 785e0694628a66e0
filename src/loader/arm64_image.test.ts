import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { ARM64_IMAGE, LEGACY_TEXT_OFFSET, gunzipImage, isGzip, parseArm64Image } from './arm64_image.js';
import { KernelFormatError } from './errors.js';
import { detectKernelFormat } from './kernel.js';
import { debianArm64ImagePath, mockArm64Image, NO_ARM64_KERNEL } from './arm64_image.fixture.js';

function throwsTruncated(bytes: Uint8Array, message: RegExp): void {
  assert.throws(() => parseArm64Image(bytes), (e: unknown) => e instanceof KernelFormatError && message.test(e.message));
}

test('parses text_offset, image_size and the flags', () => {
  const img = parseArm64Image(mockArm64Image({ textOffset: 0x80000, imageSize: 0x300000, length: 0x20000, flags: 0b1110 }));
  assert.equal(img.textOffset, 0x80000);
  assert.equal(img.effectiveSize, 0x300000, 'image_size includes .bss, past the end of the file');
  assert.equal(img.hasImageSize, true);
  assert.equal(img.pageSize, 0x10000, 'flags bits 1-2 = 3: 64K pages');
  assert.equal(img.placeAnywhere, true, 'flags bit 3');
  assert.equal(img.bytes.length, 0x20000);
});

test('reads each page-size code and the placement bit', () => {
  const page = (code: number): number | undefined => parseArm64Image(mockArm64Image({ flags: code << 1 })).pageSize;
  assert.deepEqual([0, 1, 2, 3].map(page), [undefined, 0x1000, 0x4000, 0x10000]);
  assert.equal(parseArm64Image(mockArm64Image({ flags: 0 })).placeAnywhere, false);
});

test('the effective size is never smaller than the file', () => {
  assert.equal(parseArm64Image(mockArm64Image({ imageSize: 0x100, length: 0x8000 })).effectiveSize, 0x8000);
});

test('an image_size of 0 is a pre-3.17 kernel: text_offset 0x80000, size = file', () => {
  const img = parseArm64Image(mockArm64Image({ imageSize: 0, textOffset: 0x1234567, flags: 1 }));
  assert.equal(img.textOffset, LEGACY_TEXT_OFFSET);
  assert.equal(img.hasImageSize, false);
  assert.equal(img.effectiveSize, 0x10000);
  assert.equal(img.pageSize, undefined);
});

test('rejects truncated input and a wrong magic with KernelFormatError', () => {
  assert.throws(() => parseArm64Image(mockArm64Image().subarray(0, 0x3f)), (e: Error) => e instanceof KernelFormatError && /truncated: 63 bytes/.test(e.message));
  const bad = mockArm64Image();
  bad[ARM64_IMAGE.MAGIC_OFFSET + 3] = 0x65;
  assert.throws(() => parseArm64Image(bad), (e: Error) => e instanceof KernelFormatError && /magic at 0x38 is 0x654d5241/.test(e.message));
});

test('an EFI-stub Image shorter than its PE/COFF sections declare is truncated; the message names the missing bytes', () => {
  const img = mockArm64Image({ peHeader: true, length: 0x40000, imageSize: 0x80000 });
  assert.equal(parseArm64Image(img).bytes.length, 0x40000, 'the whole file parses');
  // Cut inside .data (the last section, which ends at the end of the file).
  throwsTruncated(img.subarray(0, 0x30000), /^arm64 Image is truncated: PE\/COFF section "\.data" ends at byte 262144, the file has 196608 \(65536 missing\)$/);
  // Cut inside .text: the first section past the end is named.
  throwsTruncated(img.subarray(0, 0x2000), /section "\.text" ends at byte 133120, the file has 8192 \(124928 missing\)/);
  // Cut inside the section table, and inside the COFF header.
  throwsTruncated(img.subarray(0, 0x100), /the PE\/COFF section table \(2 sections at 0xc8\) ends at byte 280, the file has 256 \(24 missing\)/);
  throwsTruncated(img.subarray(0, 0x48), /the PE\/COFF header at 0x40 ends at byte 88, the file has 72 \(16 missing\)/);
});

test('without a PE/COFF header nothing declares the file size: a short Image is accepted, image_size covering .bss', () => {
  // booting.rst: image_size includes .bss, so a file shorter than image_size proves nothing.
  assert.equal(parseArm64Image(mockArm64Image({ length: 0x1000, imageSize: 0x100000 })).effectiveSize, 0x100000);
  assert.equal(parseArm64Image(mockArm64Image({ efiStub: false, length: 0x1000 })).bytes.length, 0x1000);
});

test('rejects a big-endian kernel', () => {
  assert.throws(() => parseArm64Image(mockArm64Image({ flags: 0b0011 })), (e: Error) => e instanceof KernelFormatError && /big-endian/.test(e.message));
});

test('rejects a text_offset that is unaligned or not below 2 MiB', () => {
  assert.throws(() => parseArm64Image(mockArm64Image({ textOffset: 0x200000 })), /text_offset 0x200000/);
  assert.throws(() => parseArm64Image(mockArm64Image({ textOffset: 0x80010 })), /text_offset 0x80010/);
});

test('rejects sizes beyond 2^53', () => {
  const img = mockArm64Image();
  new DataView(img.buffer).setBigUint64(ARM64_IMAGE.IMAGE_SIZE, 1n << 60n, true);
  assert.throws(() => parseArm64Image(img), (e: Error) => e instanceof KernelFormatError && /image_size 0x1000000000000000/.test(e.message));
});

test('the format is detected from the bytes, with or without the EFI stub', () => {
  assert.equal(detectKernelFormat(mockArm64Image()), 'arm64-image');
  assert.equal(detectKernelFormat(mockArm64Image({ efiStub: false })), 'arm64-image');
});

test('a gzip-compressed Image is decompressed, within a limit', () => {
  const raw = mockArm64Image();
  const gz = gzipSync(raw);
  assert.equal(isGzip(gz), true);
  assert.equal(isGzip(raw), false);
  assert.deepEqual(gunzipImage(gz, 1 << 20), raw);
  assert.equal(gunzipImage(raw, 16), raw, 'not gzip: returned as is');
  assert.throws(() => gunzipImage(gz, 0x1000), (e: Error) => e instanceof KernelFormatError && /limit 4096/.test(e.message));
  assert.throws(() => gunzipImage(new Uint8Array([0x1f, 0x8b, 8, 0, 0]), 1 << 20), KernelFormatError);
});

test('the real Debian arm64 kernel parses', (t) => {
  const path = debianArm64ImagePath();
  if (path === undefined) return t.skip(NO_ARM64_KERNEL);
  const bytes = gunzipImage(new Uint8Array(readFileSync(path)), 256 << 20);
  assert.equal(detectKernelFormat(bytes), 'arm64-image');
  const img = parseArm64Image(bytes);
  assert.equal(img.hasImageSize, true);
  assert.equal(img.textOffset, 0, 'kernels since 5.8 use text_offset 0');
  assert.ok(img.effectiveSize > bytes.length, 'image_size covers .bss beyond the file');
  assert.equal(img.pageSize, 0x1000, 'Debian arm64 kernels use 4K pages');
});
