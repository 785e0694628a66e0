import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { detectPayloadFormat, parseBzImage, SETUP_HEADER, XLOADFLAGS } from './bzimage.js';
import { KernelFormatError } from './errors.js';
import { debianBzImagePath, mockBzImage, NO_DEBIAN_KERNEL, withSizeTrailer } from './images.fixture.js';

function setU16(b: Uint8Array, at: number, v: number): Uint8Array {
  new DataView(b.buffer, b.byteOffset).setUint16(at, v, true);
  return b;
}

function throwsFormat(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof KernelFormatError && message.test(err.message));
}

test('parses the setup header fields of a well-formed bzImage', () => {
  const payload = withSizeTrailer(new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 9, 9]), 0x123456);
  const img = mockBzImage({
    setupSects: 6,
    payload,
    payloadOffset: 0x2cc,
    initrdAddrMax: 0x37ffffff,
    cmdlineSize: 1024,
    prefAddress: 0x1000000,
    initSize: 0x3000000,
    kernelAlignment: 0x200000,
    versionString: '6.1.0-test (builder) #1',
  });
  const bz = parseBzImage(img);
  assert.equal(bz.version, 0x020f);
  assert.equal(bz.setupSects, 6);
  assert.equal(bz.setupBytes.length, 7 * 512);
  assert.equal(bz.kernel.length, img.length - 7 * 512);
  assert.equal(bz.kernel.byteOffset, img.byteOffset + 7 * 512);
  assert.equal(bz.initrdAddrMax, 0x37ffffff);
  assert.equal(bz.cmdlineSize, 1024);
  assert.equal(bz.prefAddress, 0x1000000);
  assert.equal(bz.initSize, 0x3000000);
  assert.equal(bz.kernelAlignment, 0x200000);
  assert.equal(bz.relocatable, true);
  assert.equal(bz.xloadflags & XLOADFLAGS.XLF_KERNEL_64, 1);
  assert.equal(bz.kernelVersion, '6.1.0-test (builder) #1');
  // The header runs from 0x1f1 to 0x202 + the jump operand (0x6a).
  assert.equal(bz.setupHeader.length, 0x26c - 0x1f1);
  assert.equal(bz.setupHeader[SETUP_HEADER.BOOT_FLAG - 0x1f1], 0x55);
  const p = bz.payload();
  assert.equal(p.format, 'xz');
  assert.deepEqual([...p.bytes], [...payload]);
  assert.equal(p.decompressedSize, 0x123456);
});

test('setup_sects == 0 means 4', () => {
  const bz = parseBzImage(mockBzImage({ setupSects: 0 }));
  assert.equal(bz.setupSects, 4);
  assert.equal(bz.setupBytes.length, 5 * 512);
});

test('rejects truncated files, naming the sizes', () => {
  throwsFormat(() => parseBzImage(new Uint8Array(100)), /truncated: 100 bytes/);
  const img = mockBzImage({ setupSects: 4 });
  throwsFormat(() => parseBzImage(img.subarray(0, 0x204)), /truncated: 516 bytes.*setup header/);
  // The whole file is setup code: no protected-mode kernel.
  throwsFormat(() => parseBzImage(img.subarray(0, 5 * 512)), /setup_sects=4 puts the protected-mode kernel at 0xa00/);
  // setup_sects claims more sectors than the file has.
  const big = mockBzImage();
  big[SETUP_HEADER.SETUP_SECTS] = 200;
  throwsFormat(() => parseBzImage(big), /setup_sects=200/);
});

test('a bzImage shorter than setup + syssize paragraphs is truncated: the message names the missing bytes', () => {
  // An 8 MiB kernel cut after 100 KiB, as a partial download or copy leaves it.
  const img = mockBzImage({ setupSects: 4, tail: 8 << 20 });
  const declared = 5 * 512 + new DataView(img.buffer).getUint32(SETUP_HEADER.SYSSIZE, true) * 16;
  assert.equal(declared, img.length, 'the mock is exactly as long as it declares');
  const cut = 100 * 1024;
  throwsFormat(
    () => parseBzImage(img.subarray(0, cut)),
    new RegExp(`^bzImage is truncated: the header declares ${declared} bytes .*the file has ${cut} \\(${declared - cut} missing\\)$`),
  );
  // One byte short is enough; setup_sects 0 counts as 4 here too.
  const zero = mockBzImage({ setupSects: 0 });
  throwsFormat(() => parseBzImage(zero.subarray(0, zero.length - 1)), /declares \d+ bytes \(setup_sects=4, .*\(1 missing\)/);
  // Bytes after the declared end (a signed kernel's appended signature) are fine.
  const signed = new Uint8Array(img.length + 600);
  signed.set(img);
  assert.equal(parseBzImage(signed).version, 0x020f);
  assert.equal(parseBzImage(img).kernel.length, img.length - 5 * 512);
});

test('rejects bad magic values', () => {
  throwsFormat(() => parseBzImage(setU16(mockBzImage(), SETUP_HEADER.BOOT_FLAG, 0x1234)), /boot_flag at 0x1fe is 0x1234/);
  const img = mockBzImage();
  img[SETUP_HEADER.HEADER] = 0x41;
  throwsFormat(() => parseBzImage(img), /"HdrS"/);
  const noJump = mockBzImage();
  noJump[SETUP_HEADER.JUMP] = 0x90;
  throwsFormat(() => parseBzImage(noJump), /setup header end is invalid/);
  const longHeader = mockBzImage();
  longHeader[SETUP_HEADER.JUMP + 1] = 0xf0; // would end at 0x2f2, past boot_params' room
  throwsFormat(() => parseBzImage(longHeader), /end 0x2f2/);
});

test('requires boot protocol 2.06 and says so', () => {
  throwsFormat(() => parseBzImage(mockBzImage({ version: 0x0205 })), /protocol 2\.05 is too old: 2\.06 or newer/);
  throwsFormat(() => parseBzImage(mockBzImage({ version: 0x0200 })), /2\.06 or newer/);
});

test('requires LOADED_HIGH and a 64-bit entry point', () => {
  throwsFormat(() => parseBzImage(mockBzImage({ loadflags: 0 })), /LOADED_HIGH/);
  throwsFormat(() => parseBzImage(mockBzImage({ xloadflags: 0x02 })), /not 64-bit capable: xloadflags 0x2/);
  throwsFormat(() => parseBzImage(mockBzImage({ version: 0x020a })), /predates xloadflags/);
});

test('payload() checks its bounds against the protected-mode kernel', () => {
  const img = mockBzImage({ payloadOffset: 0x100, tail: 0 });
  const dv = new DataView(img.buffer);
  dv.setUint32(SETUP_HEADER.PAYLOAD_LENGTH, 0xffff_fff0, true);
  const bz = parseBzImage(img); // the header itself is fine
  throwsFormat(() => bz.payload(), /does not fit/);
  dv.setUint32(SETUP_HEADER.PAYLOAD_LENGTH, 2, true); // shorter than the size trailer
  throwsFormat(() => parseBzImage(img).payload(), /does not fit/);
});

test('detects every payload compression by magic', () => {
  const cases: Array<[number[], string]> = [
    [[0x1f, 0x8b, 0x08], 'gzip'],
    [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
    [[0x02, 0x21, 0x4c, 0x18], 'lz4'],
    [[0x28, 0xb5, 0x2f, 0xfd], 'zstd'],
    [[0x42, 0x5a, 0x68, 0x39], 'bzip2'],
    [[0x5d, 0x00, 0x00, 0x80], 'lzma'],
    [[0x89, 0x4c, 0x5a, 0x4f], 'lzo'],
    [[0x7f, 0x45, 0x4c, 0x46], 'unknown'],
    [[0xfd, 0x37, 0x7a], 'unknown'], // truncated xz magic
    [[], 'unknown'],
  ];
  for (const [bytes, format] of cases) assert.equal(detectPayloadFormat(new Uint8Array(bytes)), format, `${bytes}`);
});

test('parses a real Debian kernel', (t) => {
  const path = debianBzImagePath();
  if (path === undefined) return t.skip(NO_DEBIAN_KERNEL);
  const bytes = new Uint8Array(readFileSync(path));
  const bz = parseBzImage(bytes);
  assert.ok(bz.version >= 0x020c, `protocol ${bz.version.toString(16)}`);
  assert.equal(bz.xloadflags & XLOADFLAGS.XLF_KERNEL_64, XLOADFLAGS.XLF_KERNEL_64);
  assert.equal(bz.relocatable, true);
  assert.ok(bz.cmdlineSize >= 255);
  assert.ok(bz.initSize > bz.kernel.length, 'init_size covers the decompressed kernel');
  assert.equal(bz.setupBytes.length + bz.kernel.length, bytes.length);
  assert.match(bz.kernelVersion ?? '', /^\d+\.\d+/);
  const p = bz.payload();
  assert.notEqual(p.format, 'unknown');
  assert.ok(p.decompressedSize > p.bytes.length, 'payload is compressed');
});

test('the real Debian kernel declares exactly its length; its first 100 KiB are refused as truncated', (t) => {
  const path = debianBzImagePath();
  if (path === undefined) return t.skip(NO_DEBIAN_KERNEL);
  const bytes = new Uint8Array(readFileSync(path));
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const declared = ((bytes[SETUP_HEADER.SETUP_SECTS]! || 4) + 1) * 512 + dv.getUint32(SETUP_HEADER.SYSSIZE, true) * 16;
  assert.ok(declared <= bytes.length && declared > bytes.length - 4096, `declared ${declared}, file ${bytes.length}`);
  const cut = 100 * 1024;
  throwsFormat(() => parseBzImage(bytes.subarray(0, cut)), new RegExp(`declares ${declared} bytes .*the file has ${cut} \\(${declared - cut} missing\\)`));
});
