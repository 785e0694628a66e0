import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../memory/guest_memory.js';
import { EM, loadElf, parseElf64, XEN_ELFNOTE } from './elf.js';
import { KernelFormatError, KernelLoadError } from './errors.js';
import { mockElf } from './images.fixture.js';

function throwsFormat(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof KernelFormatError && message.test(err.message));
}

const u64le = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};
const u32le = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
};

/** Program header i's field at `field` (byte offset within the 56-byte header). */
function setPh(elf: Uint8Array, i: number, field: number, v: bigint): Uint8Array {
  new DataView(elf.buffer).setBigUint64(64 + i * 56 + field, v, true);
  return elf;
}

test('parses an x86_64 vmlinux-like ELF: machine, entry, PT_LOADs', () => {
  const text = new Uint8Array([1, 2, 3, 4, 5]);
  const data = new Uint8Array([6, 7]);
  const elf = parseElf64(
    mockElf({
      entry: 0x1000000n,
      segments: [
        { paddr: 0x1000000n, vaddr: 0xffffffff81000000n, data: text },
        { paddr: 0x2000000n, vaddr: 0xffffffff82000000n, data, memsz: 0x1000 },
      ],
    }),
  );
  assert.equal(elf.machine, EM.X86_64);
  assert.equal(elf.entry, 0x1000000n);
  assert.equal(elf.segments.length, 2);
  const [s0, s1] = elf.segments;
  assert.equal(s0?.paddr, 0x1000000n);
  assert.equal(s0?.vaddr, 0xffffffff81000000n);
  assert.deepEqual([...(s0?.data ?? [])], [...text]);
  assert.equal(s1?.filesz, 2);
  assert.equal(s1?.memsz, 0x1000);
  assert.equal(elf.pvhEntry, undefined);
});

test('returns the machine for the caller to check (aarch64)', () => {
  assert.equal(parseElf64(mockElf({ machine: EM.AARCH64 })).machine, 183);
});

test('finds the Xen PVH entry note, 8- or 4-byte descriptor, among other notes', () => {
  const notes = [
    { name: 'GNU', type: XEN_ELFNOTE.PHYS32_ENTRY, desc: u32le(0xdead) }, // right type, wrong owner
    { name: 'Xen', type: 6, desc: new TextEncoder().encode('linux\0') },
    { name: 'Xen', type: XEN_ELFNOTE.PHYS32_ENTRY, desc: u64le(0x1000850n) },
  ];
  assert.equal(parseElf64(mockElf({ notes })).pvhEntry, 0x1000850);
  assert.equal(parseElf64(mockElf({ notes: [{ name: 'Xen', type: 18, desc: u32le(0x100200) }] })).pvhEntry, 0x100200);
  throwsFormat(() => parseElf64(mockElf({ notes: [{ name: 'Xen', type: 18, desc: u64le(0x1_0000_0000n) }] })), /not a 32-bit address/);
  throwsFormat(() => parseElf64(mockElf({ notes: [{ name: 'Xen', type: 18, desc: new Uint8Array(2) }] })), /2-byte descriptor/);
});

// Found by the fuzzer (loader.fuzz.ts): the note name was spread into
// String.fromCharCode, so a Xen-typed note with a long name threw a
// RangeError (call stack exceeded) instead of being skipped.
test('fuzz regression: a PHYS32_ENTRY-typed note with a 300000-byte name is skipped, not a RangeError', () => {
  const long = { name: 'X'.repeat(300_000), type: XEN_ELFNOTE.PHYS32_ENTRY, desc: u32le(0x1000000) };
  const xen = { name: 'Xen', type: XEN_ELFNOTE.PHYS32_ENTRY, desc: u32le(0x1000040) };
  assert.equal(parseElf64(mockElf({ notes: [long] })).pvhEntry, undefined);
  assert.equal(parseElf64(mockElf({ notes: [long, xen] })).pvhEntry, 0x1000040, 'the Xen note after it is still found');
});

test('rejects a note that runs past its segment', () => {
  const elf = mockElf({ notes: [{ name: 'Xen', type: 18, desc: u32le(0x100000) }] });
  // Note segment is program header 1; its data starts with namesz. Claim a 4 GiB descriptor.
  const noteOffset = Number(new DataView(elf.buffer).getBigUint64(64 + 56 + 8, true));
  new DataView(elf.buffer).setUint32(noteOffset + 4, 0xffff_fff0, true);
  throwsFormat(() => parseElf64(elf), /runs past its segment/);
});

test('rejects malformed identification and headers', () => {
  throwsFormat(() => parseElf64(new Uint8Array(10)), /truncated: 10 bytes/);
  const bad = (patch: (b: Uint8Array) => void, re: RegExp): void => {
    const b = mockElf();
    patch(b);
    throwsFormat(() => parseElf64(b), re);
  };
  bad((b) => (b[1] = 0x46), /not an ELF file/);
  bad((b) => (b[4] = 1), /class 1 is not ELFCLASS64/);
  bad((b) => (b[5] = 2), /not little endian/);
  bad((b) => (b[6] = 0), /version 0/);
  bad((b) => (b[16] = 1), /type 1 is not an executable/);
  bad((b) => (b[54] = 32), /e_phentsize 32/);
  bad((b) => (b[56] = 0), /no program headers/);
  bad((b) => (b[56] = 200), /truncated: the program header table \(200 x 56 bytes at 0x40\) ends at byte 11264, the file has \d+/);
  bad((b) => new DataView(b.buffer).setBigUint64(32, 0xffff_ffff_ffff_ffc0n, true), /e_phoff 0xffffffffffffffc0 is impossibly large/);
});

test('a vmlinux cut short is truncated wherever the cut falls, and the message names the missing bytes', () => {
  const text = new Uint8Array(0x3000).fill(0x90);
  const full = mockElf({ segments: [{ paddr: 0x100000n, data: text }, { paddr: 0x200000n, data: new Uint8Array(0x800), memsz: 0x1000 }] });
  assert.equal(parseElf64(full).segments.length, 2);
  // Inside the program header table (64 + 2 * 56 = 176 bytes).
  throwsFormat(() => parseElf64(full.subarray(0, 150)), /^ELF is truncated: the program header table \(2 x 56 bytes at 0x40\) ends at byte 176, the file has 150 \(26 missing\)$/);
  // Inside the first PT_LOAD's bytes, then inside the second's.
  throwsFormat(() => parseElf64(full.subarray(0, 0x1000)), new RegExp(`program header 0 \\(PT_LOAD\\) .* ending at byte ${176 + 0x3000}, the file has 4096 \\(${176 + 0x3000 - 0x1000} missing\\)`));
  throwsFormat(() => parseElf64(full.subarray(0, full.length - 1)), /program header 1 \(PT_LOAD\) .*\(1 missing\)$/);
});

test('rejects PT_LOADs with bad sizes or file ranges', () => {
  const one = (): Uint8Array => mockElf({ segments: [{ paddr: 0x100000n, data: new Uint8Array(16), memsz: 16 }] });
  throwsFormat(() => parseElf64(setPh(one(), 0, 40, 8n)), /p_filesz 0x10 exceeds p_memsz 0x8/);
  throwsFormat(() => parseElf64(setPh(one(), 0, 32, 0x10000n)), /truncated: program header 0 \(PT_LOAD\) declares file bytes 0x78\+0x10000 ending at byte 65656, the file has 136 \(65520 missing\)/);
  throwsFormat(() => parseElf64(setPh(one(), 0, 8, 0xffff_ffff_ffff_0000n)), /p_offset .* impossibly large/);
  // offset + filesz overflowing 2^53 must not wrap into range.
  const wrap = setPh(setPh(one(), 0, 8, 0x1f_ffff_ffff_fff0n), 0, 32, 0x20n);
  throwsFormat(() => parseElf64(wrap), /truncated: program header 0/);
  // A file with only a PT_NOTE has nothing to load.
  const noLoad = setPh(one(), 0, 0, 4n);
  throwsFormat(() => parseElf64(noLoad), /no PT_LOAD/);
});

test('loadElf writes segments at paddr and zero-fills up to memsz', () => {
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(0x40000) }]);
  mem.fill(0, 0x40000, 0xaa);
  const elf = parseElf64(
    mockElf({
      entry: 0x10004n,
      segments: [
        { paddr: 0x10000n, data: new Uint8Array([1, 2, 3]), memsz: 0x100 },
        { paddr: 0x20000n, data: new Uint8Array([9]), memsz: 1 },
      ],
      notes: [{ name: 'Xen', type: 18, desc: u32le(0x10002) }],
    }),
  );
  const loaded = loadElf(mem, elf);
  assert.deepEqual(loaded, { entry: 0x10004, pvhEntry: 0x10002, start: 0x10000, end: 0x20001 });
  assert.deepEqual([...mem.slice(0x10000, 4)], [1, 2, 3, 0]);
  assert.equal(mem.readU8(0x100ff), 0);
  assert.equal(mem.readU8(0x10100), 0xaa, 'nothing past memsz is touched');
  assert.equal(mem.readU8(0x20000), 9);
});

test('loadElf fails before writing anything when a segment is outside RAM', () => {
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(0x40000) }]);
  const elf = parseElf64(
    mockElf({
      segments: [
        { paddr: 0x10000n, data: new Uint8Array([1]), memsz: 1 },
        { paddr: 0x3ff00n, data: new Uint8Array([2]), memsz: 0x200 }, // runs 0x100 past RAM
      ],
    }),
  );
  assert.throws(() => loadElf(mem, elf), (e: unknown) => e instanceof KernelLoadError && /segment 1 at paddr 0x3ff00\+0x200 is outside guest RAM/.test(e.message));
  assert.equal(mem.readU8(0x10000), 0, 'first segment not written');
  const virtual = parseElf64(mockElf({ segments: [{ paddr: 0xffff800008000000n, data: new Uint8Array(4) }] }));
  assert.throws(() => loadElf(mem, virtual), KernelLoadError);
  const badEntry = parseElf64(mockElf({ entry: 0x30000n, segments: [{ paddr: 0x10000n, data: new Uint8Array(4) }] }));
  assert.throws(() => loadElf(mem, badEntry), /entry point 0x30000 is outside the loaded image/);
});
