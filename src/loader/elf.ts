// ELF64 parser and loader for an uncompressed kernel (vmlinux).
//
// Source: the System V ABI gABI ("ELF Header", "Program Header", "Note
// Section") and include/uapi/linux/elf.h. Only what a VMM needs is read: the
// header, PT_LOAD segments (loaded at their physical address, as Linux's
// x86 vmlinux expects) and PT_NOTE entries, where a Xen PVH entry point
// (XEN_ELFNOTE_PHYS32_ENTRY, xen/include/public/elfnote.h) may be declared.
// Every offset and size comes from the file, so every range is checked.
import type { GuestMemory } from '../memory/guest_memory.js';
import { KernelFormatError, KernelLoadError, hex } from './errors.js';

/** e_ident bytes and values (gABI). */
export const ELF_IDENT = {
  MAGIC: [0x7f, 0x45, 0x4c, 0x46], // "\x7fELF"
  EI_CLASS: 4,
  EI_DATA: 5,
  EI_VERSION: 6,
  ELFCLASS64: 2,
  ELFDATA2LSB: 1,
  EV_CURRENT: 1,
} as const;

/** e_type values (gABI). */
export const ET = { REL: 1, EXEC: 2, DYN: 3, CORE: 4 } as const;

/** e_machine values the VMM can boot (include/uapi/linux/elf-em.h). */
export const EM = { X86_64: 62, AARCH64: 183 } as const;

/** p_type values (gABI). */
export const PT = { LOAD: 1, NOTE: 4 } as const;

/** Xen's ELF note carrying the 32-bit PVH entry point (xen/include/public/elfnote.h). */
export const XEN_ELFNOTE = { NAME: 'Xen', PHYS32_ENTRY: 18 } as const;

/** Sizes of ELF64 structures (gABI). */
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;

/** Offsets inside the ELF64 header. */
const EHDR = { TYPE: 16, MACHINE: 18, ENTRY: 24, PHOFF: 32, PHENTSIZE: 54, PHNUM: 56 } as const;
/** Offsets inside an ELF64 program header. */
const PHDR = { TYPE: 0, OFFSET: 8, VADDR: 16, PADDR: 24, FILESZ: 32, MEMSZ: 40 } as const;

export interface ElfSegment {
  /** Physical load address, raw (it may be above 2^53 for virtual-linked kernels). */
  readonly paddr: bigint;
  readonly vaddr: bigint;
  readonly offset: number;
  readonly filesz: number;
  readonly memsz: number;
  /** The filesz bytes of the segment, a view into the file. */
  readonly data: Uint8Array;
}

export interface Elf64 {
  readonly machine: number;
  readonly type: number;
  /** e_entry, raw: physical on x86 vmlinux, virtual on arm64. */
  readonly entry: bigint;
  readonly segments: readonly ElfSegment[];
  /** The PVH entry point from XEN_ELFNOTE_PHYS32_ENTRY, if the kernel has one. */
  readonly pvhEntry: number | undefined;
}

/** Parses an ELF64 little-endian executable. Throws KernelFormatError. */
export function parseElf64(bytes: Uint8Array): Elf64 {
  if (bytes.length < EHDR_SIZE) {
    throw new KernelFormatError(`ELF is truncated: ${bytes.length} bytes, the ELF64 header needs ${EHDR_SIZE}`);
  }
  if (!ELF_IDENT.MAGIC.every((b, i) => bytes[i] === b)) {
    throw new KernelFormatError(`not an ELF file: magic is ${[...bytes.subarray(0, 4)].map((b) => hex(b)).join(' ')}`);
  }
  if (bytes[ELF_IDENT.EI_CLASS] !== ELF_IDENT.ELFCLASS64) {
    throw new KernelFormatError(`ELF class ${bytes[ELF_IDENT.EI_CLASS]} is not ELFCLASS64 (2)`);
  }
  if (bytes[ELF_IDENT.EI_DATA] !== ELF_IDENT.ELFDATA2LSB) {
    throw new KernelFormatError(`ELF data encoding ${bytes[ELF_IDENT.EI_DATA]} is not little endian (1)`);
  }
  if (bytes[ELF_IDENT.EI_VERSION] !== ELF_IDENT.EV_CURRENT) {
    throw new KernelFormatError(`ELF version ${bytes[ELF_IDENT.EI_VERSION]} is not EV_CURRENT (1)`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint16(EHDR.TYPE, true);
  if (type !== ET.EXEC && type !== ET.DYN) {
    throw new KernelFormatError(`ELF type ${type} is not an executable (ET_EXEC 2 or ET_DYN 3)`);
  }
  const phoff = size(dv, EHDR.PHOFF, 'e_phoff');
  const phentsize = dv.getUint16(EHDR.PHENTSIZE, true);
  const phnum = dv.getUint16(EHDR.PHNUM, true);
  if (phentsize !== PHDR_SIZE) {
    throw new KernelFormatError(`ELF e_phentsize ${phentsize} is not ${PHDR_SIZE}`);
  }
  if (phnum === 0) throw new KernelFormatError('ELF has no program headers');
  const phEnd = phoff + phnum * PHDR_SIZE;
  if (phEnd > bytes.length) {
    throw new KernelFormatError(
      `ELF is truncated: the program header table (${phnum} x ${PHDR_SIZE} bytes at ${hex(phoff)}) ends at byte ${phEnd}, the file has ${bytes.length} (${phEnd - bytes.length} missing)`,
    );
  }

  const segments: ElfSegment[] = [];
  let pvhEntry: number | undefined;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * PHDR_SIZE;
    const ptype = dv.getUint32(ph + PHDR.TYPE, true);
    if (ptype !== PT.LOAD && ptype !== PT.NOTE) continue;
    const offset = size(dv, ph + PHDR.OFFSET, `p_offset of program header ${i}`);
    const filesz = size(dv, ph + PHDR.FILESZ, `p_filesz of program header ${i}`);
    const end = offset + filesz;
    if (end > bytes.length) {
      throw new KernelFormatError(
        `ELF is truncated: program header ${i} (${ptype === PT.LOAD ? 'PT_LOAD' : 'PT_NOTE'}) declares file bytes ${hex(offset)}+${hex(filesz)} ending at byte ${end}, the file has ${bytes.length} (${end - bytes.length} missing)`,
      );
    }
    const data = bytes.subarray(offset, offset + filesz);
    if (ptype === PT.NOTE) {
      pvhEntry ??= findPvhEntry(data, i);
      continue;
    }
    const memsz = size(dv, ph + PHDR.MEMSZ, `p_memsz of program header ${i}`);
    if (filesz > memsz) {
      throw new KernelFormatError(`ELF PT_LOAD ${i}: p_filesz ${hex(filesz)} exceeds p_memsz ${hex(memsz)}`);
    }
    segments.push({
      paddr: dv.getBigUint64(ph + PHDR.PADDR, true),
      vaddr: dv.getBigUint64(ph + PHDR.VADDR, true),
      offset,
      filesz,
      memsz,
      data,
    });
  }
  if (segments.length === 0) throw new KernelFormatError('ELF has no PT_LOAD segments');
  return {
    machine: dv.getUint16(EHDR.MACHINE, true),
    type,
    entry: dv.getBigUint64(EHDR.ENTRY, true),
    segments,
    pvhEntry,
  };
}

/** Reads a u64 that sizes or indexes the file; anything above 2^53 cannot be valid. */
function size(dv: DataView, at: number, what: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new KernelFormatError(`ELF ${what} ${hex(v)} is impossibly large`);
  return Number(v);
}

const NOTE_HEADER = 12; // namesz, descsz, type: three u32
// Arithmetic, not bit operations: namesz and descsz are u32 and may exceed 2^31.
const align4 = (n: number): number => n + ((4 - (n % 4)) % 4);

/** Walks the notes of one PT_NOTE segment and returns the PVH entry, if present. */
function findPvhEntry(notes: Uint8Array, phIndex: number): number | undefined {
  const dv = new DataView(notes.buffer, notes.byteOffset, notes.byteLength);
  let at = 0;
  while (at + NOTE_HEADER <= notes.length) {
    const namesz = dv.getUint32(at, true);
    const descsz = dv.getUint32(at + 4, true);
    const type = dv.getUint32(at + 8, true);
    const nameAt = at + NOTE_HEADER;
    const descAt = nameAt + align4(namesz);
    const next = descAt + align4(descsz);
    if (next > notes.length) {
      throw new KernelFormatError(`ELF note at ${hex(at)} in program header ${phIndex} runs past its segment (${hex(notes.length)} bytes)`);
    }
    if (type === XEN_ELFNOTE.PHYS32_ENTRY && noteName(notes, nameAt, namesz) === XEN_ELFNOTE.NAME) {
      // Linux declares it with _ASM_PTR: 8 bytes on x86_64, 4 on i386.
      if (descsz !== 4 && descsz !== 8) {
        throw new KernelFormatError(`Xen PHYS32_ENTRY note has a ${descsz}-byte descriptor, expected 4 or 8`);
      }
      if (descsz === 8 && dv.getUint32(descAt + 4, true) !== 0) {
        throw new KernelFormatError(`Xen PHYS32_ENTRY ${hex(dv.getBigUint64(descAt, true))} is not a 32-bit address`);
      }
      return dv.getUint32(descAt, true);
    }
    at = next;
  }
  return undefined;
}

const LATIN1 = new TextDecoder('latin1');

function noteName(notes: Uint8Array, at: number, namesz: number): string {
  // namesz counts the terminating NUL. It comes from the file and may be as
  // long as the segment: decode, never spread bytes into call arguments.
  const raw = notes.subarray(at, at + namesz);
  const end = raw.indexOf(0);
  return LATIN1.decode(raw.subarray(0, end < 0 ? raw.length : end));
}

/** Where a loaded ELF kernel ended up. */
export interface LoadedElf {
  /** e_entry as a guest-physical address. */
  readonly entry: number;
  readonly pvhEntry: number | undefined;
  /** Lowest paddr of any PT_LOAD. */
  readonly start: number;
  /** First byte past the highest paddr + memsz of any PT_LOAD. */
  readonly end: number;
}

/** Writes every PT_LOAD at its physical address, zero-filling up to memsz. */
export function loadElf(mem: GuestMemory, elf: Elf64): LoadedElf {
  // Check everything before writing anything, so a failure leaves RAM untouched.
  const placed = elf.segments.map((s, i) => {
    const paddr = s.paddr;
    const end = paddr + BigInt(s.memsz);
    if (end > BigInt(Number.MAX_SAFE_INTEGER) || !mem.contains(Number(paddr), s.memsz)) {
      throw new KernelLoadError(
        `ELF segment ${i} at paddr ${hex(paddr)}+${hex(s.memsz)} is outside guest RAM (${hex(mem.size)} bytes)`,
      );
    }
    return { gpa: Number(paddr), seg: s };
  });
  const start = Math.min(...placed.map((p) => p.gpa));
  const end = Math.max(...placed.map((p) => p.gpa + p.seg.memsz));
  if (elf.entry < BigInt(start) || elf.entry >= BigInt(end)) {
    throw new KernelLoadError(`ELF entry point ${hex(elf.entry)} is outside the loaded image ${hex(start)}-${hex(end)}`);
  }
  for (const { gpa, seg } of placed) {
    mem.write(gpa, seg.data);
    mem.fill(gpa + seg.filesz, seg.memsz - seg.filesz, 0);
  }
  return { entry: Number(elf.entry), pvhEntry: elf.pvhEntry, start, end };
}
