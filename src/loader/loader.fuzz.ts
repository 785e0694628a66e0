// Fuzz targets for the kernel parsers: bzImage, ELF (vmlinux) and arm64
// Image, fed well-formed mock images (images.fixture.ts, arm64_image.fixture.ts)
// with random header fields overwritten, random bytes flipped and random
// truncation, plus plain random bytes.
//
// Invariants (errors.ts: a kernel file is untrusted input):
// - detectKernelFormat never throws; the parsers return or throw
//   KernelFormatError, nothing else (bzImage's payload() too);
// - what a parser accepts is inside the file: bzImage's declared size
//   (setup + syssize paragraphs) and its payload; every ELF segment's file
//   range, with filesz <= memsz; an arm64 Image's PE/COFF sections; and
//   the header facts the boot code relies on (64-bit entry, alignment).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzTarget, type FuzzTarget } from '../fuzz/target.js';
import { ARM64_KERNEL_ALIGN, PE_COFF, parseArm64Image } from './arm64_image.js';
import { mockArm64Image } from './arm64_image.fixture.js';
import { SETUP_HEADER, XLOADFLAGS, parseBzImage } from './bzimage.js';
import { parseElf64 } from './elf.js';
import { KernelFormatError } from './errors.js';
import { detectKernelFormat } from './kernel.js';
import { mockBzImage, mockElf } from './images.fixture.js';

interface Mutation {
  /** Bytes written at offsets (mostly inside the headers). */
  readonly writes: ReadonlyArray<{ readonly at: number; readonly bytes: readonly number[] }>;
  /** Keep this fraction of the file (1: all). */
  readonly keep: number;
}

function mutation(headerEnd: number): fc.Arbitrary<Mutation> {
  const at = fc.oneof({ weight: 4, arbitrary: fc.nat({ max: headerEnd }) }, { weight: 1, arbitrary: fc.nat({ max: 0x2_0000 }) });
  const bytes = fc.oneof(fc.array(fc.nat({ max: 0xff }), { minLength: 1, maxLength: 8 }), fc.constantFrom([0], [0xff, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  return fc.record({
    writes: fc.array(fc.record({ at, bytes }), { maxLength: 4 }),
    keep: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }),
  });
}

function apply(image: Uint8Array, m: Mutation): Uint8Array {
  const b = image.slice();
  for (const w of m.writes) w.bytes.forEach((v, i) => (w.at + i < b.length ? (b[w.at + i] = v) : undefined));
  return b.subarray(0, Math.floor(b.length * m.keep));
}

/** Runs a parser under the contract: a value, or a KernelFormatError. */
function parsed<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    if (err instanceof KernelFormatError) return undefined;
    throw err;
  }
}

const bzImageInput = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .record({ setupSects: fc.nat({ max: 8 }), tail: fc.nat({ max: 0x3000 }), payloadOffset: fc.nat({ max: 0x400 }) })
      .chain((o) => mutation(SETUP_HEADER.MAX_END).map((m) => apply(mockBzImage(o), m))),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 0x1000 }) },
);

function checkBzImage(bytes: Uint8Array): void {
  detectKernelFormat(bytes);
  const bz = parsed(() => parseBzImage(bytes));
  if (bz === undefined) return;
  const syssize = new DataView(bytes.buffer, bytes.byteOffset).getUint32(SETUP_HEADER.SYSSIZE, true);
  assert.ok(bz.setupBytes.length + syssize * 16 <= bytes.length, 'accepted a file shorter than its header declares');
  assert.equal(bz.setupBytes.length, (bz.setupSects + 1) * 512);
  assert.equal(bz.setupBytes.length + bz.kernel.length, bytes.length);
  assert.ok(bz.kernel.length > 0);
  assert.notEqual(bz.xloadflags & XLOADFLAGS.XLF_KERNEL_64, 0, 'accepted without a 64-bit entry');
  assert.ok(bz.prefAddress <= Number.MAX_SAFE_INTEGER);
  const p = parsed(() => bz.payload());
  if (p !== undefined) assert.ok(bz.payloadOffset + bz.payloadLength <= bz.kernel.length && p.bytes.length === bz.payloadLength);
}

/** A note whose name can be long: the parser must bound what it does with it. */
const note = fc.record({
  name: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('Xen', 'Linux', 'GNU', '') }, { weight: 1, arbitrary: fc.nat({ max: 300_000 }).map((n) => 'X'.repeat(n)) }),
  type: fc.oneof(fc.constant(18), fc.nat({ max: 40 })),
  desc: fc.oneof(fc.constantFrom(new Uint8Array(4), new Uint8Array(8), new Uint8Array([0, 0, 0x10, 0, 1, 0, 0, 0])), fc.uint8Array({ maxLength: 12 })),
});
const segment = fc.record({
  paddr: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  data: fc.uint8Array({ maxLength: 64 }),
  memsz: fc.nat({ max: 0x1000 }),
});

const elfInput = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .record({ segments: fc.array(segment, { minLength: 1, maxLength: 3 }), notes: fc.option(fc.array(note, { maxLength: 3 }), { nil: undefined }) })
      .chain((o) =>
        mutation(64 + 4 * 56).map((m) =>
          apply(mockElf({ segments: o.segments.map((s) => ({ ...s, memsz: Math.max(s.memsz, s.data.length) })), ...(o.notes !== undefined ? { notes: o.notes } : {}) }), m),
        ),
      ),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 0x400 }) },
);

function checkElf(bytes: Uint8Array): void {
  detectKernelFormat(bytes);
  const elf = parsed(() => parseElf64(bytes));
  if (elf === undefined) return;
  assert.ok(elf.segments.length > 0);
  for (const s of elf.segments) {
    assert.ok(s.offset + s.filesz <= bytes.length, 'a segment runs past the file');
    assert.ok(s.filesz <= s.memsz);
    assert.equal(s.data.length, s.filesz);
  }
}

const arm64Input = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .record({ peHeader: fc.boolean(), textOffset: fc.constantFrom(0, 0x80000), imageSize: fc.oneof(fc.constant(0), fc.nat({ max: 0x10_0000 })) })
      // The mock's PE header and its two sections need 8 KiB.
      .chain((o) => fc.integer({ min: o.peHeader ? 0x2000 : 0x40, max: 0x6000 }).map((length) => ({ ...o, length })))
      .chain((o) => mutation(0x200).map((m) => apply(mockArm64Image(o), m))),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 0x400 }) },
);

function checkArm64(bytes: Uint8Array): void {
  detectKernelFormat(bytes);
  const img = parsed(() => parseArm64Image(bytes));
  if (img === undefined) return;
  assert.ok(img.effectiveSize >= bytes.length);
  assert.ok(img.textOffset < ARM64_KERNEL_ALIGN && img.textOffset % 0x1000 === 0);
  // An EFI-stub Image with a PE signature: every section's bytes are in the file.
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== PE_COFF.MZ[0] || bytes[1] !== PE_COFF.MZ[1]) return;
  const pe = dv.getUint32(PE_COFF.PE_OFFSET_FIELD, true);
  assert.ok(pe + PE_COFF.OPTIONAL_HEADER <= bytes.length, 'accepted a PE header past the end');
  if (dv.getUint32(pe, true) !== PE_COFF.SIGNATURE) return;
  const table = pe + PE_COFF.OPTIONAL_HEADER + dv.getUint16(pe + PE_COFF.SIZE_OF_OPTIONAL_HEADER, true);
  for (let i = 0; i < dv.getUint16(pe + PE_COFF.NUMBER_OF_SECTIONS, true); i++) {
    const at = table + i * PE_COFF.SECTION_HEADER_SIZE;
    const raw = dv.getUint32(at + PE_COFF.SECTION_SIZE_OF_RAW_DATA, true);
    if (raw > 0) assert.ok(dv.getUint32(at + PE_COFF.SECTION_POINTER_TO_RAW_DATA, true) + raw <= bytes.length, `accepted section ${i} past the end`);
  }
}

export const LOADER_TARGETS: readonly FuzzTarget[] = [
  fuzzTarget('bzImage parser', 300, bzImageInput, checkBzImage),
  fuzzTarget('ELF parser', 150, elfInput, checkElf),
  fuzzTarget('arm64 Image parser', 300, arm64Input, checkArm64),
];
