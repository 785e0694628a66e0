// arm64 Linux `Image` parser: the 64-byte header at the start of the file.
//
// Source: Documentation/arch/arm64/booting.rst ("Call the kernel image",
// header layout) and arch/arm64/include/asm/image.h (flag fields):
//   0x00 u32 code0    0x04 u32 code1    0x08 u64 text_offset
//   0x10 u64 image_size   0x18 u64 flags   0x20..0x37 reserved
//   0x38 u32 magic "ARM\x64"   0x3c u32 PE header offset (EFI stub)
// All fields are little endian. This module only parses (and, for a gzip'd
// Image as some distributions ship it, decompresses); placement and loading
// live in arch/aarch64.
import { gunzipSync } from 'node:zlib';
import { KernelFormatError, hex } from './errors.js';

/** Byte offsets of the header fields (booting.rst). */
export const ARM64_IMAGE = {
  TEXT_OFFSET: 0x08,
  IMAGE_SIZE: 0x10,
  FLAGS: 0x18,
  /** Offset of the u32 magic. */
  MAGIC_OFFSET: 0x38,
  /** "ARM\x64" little endian. */
  MAGIC: 0x644d5241,
  HEADER_SIZE: 0x40,
} as const;

/** Fields of the flags word (asm/image.h ARM64_IMAGE_FLAG_*). */
export const ARM64_IMAGE_FLAG = {
  /** Bit 0: kernel endianness, 1 = big endian. */
  BE: 0x1,
  /** Bits 1-2: kernel page size: 0 unspecified, 1 4K, 2 16K, 3 64K. */
  PAGE_SIZE_SHIFT: 1,
  PAGE_SIZE_MASK: 0x3,
  /** Bit 3: 1 = the 2 MiB aligned base may be anywhere in RAM; 0 = as close to the start of DRAM as possible. */
  PHYS_BASE: 0x8,
} as const;

/**
 * The PE/COFF header of an EFI-stub Image (Microsoft "PE Format": MS-DOS stub,
 * COFF file header, section table; arch/arm64/kernel/efi-header.S). Offsets
 * of the COFF fields count from the "PE\0\0" signature.
 */
export const PE_COFF = {
  /** "MZ" at offset 0: the Image carries an EFI stub (booting.rst, code0). */
  MZ: [0x4d, 0x5a],
  /** u32 at 0x3c: file offset of the PE signature (booting.rst: "res5 / PE header offset"). */
  PE_OFFSET_FIELD: 0x3c,
  /** "PE\0\0" little endian. */
  SIGNATURE: 0x00004550,
  /** COFF NumberOfSections (u16), after the signature and Machine. */
  NUMBER_OF_SECTIONS: 4 + 2,
  /** COFF SizeOfOptionalHeader (u16). */
  SIZE_OF_OPTIONAL_HEADER: 4 + 16,
  /** Signature (4) + COFF file header (20). */
  OPTIONAL_HEADER: 4 + 20,
  SECTION_HEADER_SIZE: 40,
  SECTION_NAME_SIZE: 8,
  SECTION_SIZE_OF_RAW_DATA: 16,
  SECTION_POINTER_TO_RAW_DATA: 20,
} as const;

/** booting.rst: "Where image_size is zero, text_offset can be assumed to be 0x80000" (kernels before 3.17). */
export const LEGACY_TEXT_OFFSET = 0x80000;
/** The kernel sits text_offset bytes above a 2 MiB aligned base (booting.rst; asm/boot.h MIN_KIMG_ALIGN). */
export const ARM64_KERNEL_ALIGN = 0x200000;
/** gzip member magic (RFC 1952, 2.3.1). */
const GZIP_MAGIC = [0x1f, 0x8b] as const;

const PAGE_SIZES: Record<number, number | undefined> = { 0: undefined, 1: 0x1000, 2: 0x4000, 3: 0x10000 };

export interface Arm64Image {
  /** Load offset from the 2 MiB aligned base. */
  readonly textOffset: number;
  /** Bytes the kernel occupies from its load address, .bss included (at least the file's length). */
  readonly effectiveSize: number;
  /** False for pre-3.17 kernels (image_size 0): their size and flags are unknown. */
  readonly hasImageSize: boolean;
  /** Kernel page size from the flags, or undefined when the header does not say. */
  readonly pageSize: number | undefined;
  /** Flags bit 3: the kernel may be placed anywhere in RAM, not only near its start. */
  readonly placeAnywhere: boolean;
  /** The whole file: loaded at base + textOffset. */
  readonly bytes: Uint8Array;
}

function u64(dv: DataView, at: number, what: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new KernelFormatError(`arm64 Image ${what} ${hex(v)} is impossibly large`);
  return Number(v);
}

/** Parses and checks the header of an arm64 Image. Throws KernelFormatError on anything malformed. */
export function parseArm64Image(bytes: Uint8Array): Arm64Image {
  if (bytes.length < ARM64_IMAGE.HEADER_SIZE) {
    throw new KernelFormatError(`arm64 Image is truncated: ${bytes.length} bytes, the header alone is ${ARM64_IMAGE.HEADER_SIZE}`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(ARM64_IMAGE.MAGIC_OFFSET, true);
  if (magic !== ARM64_IMAGE.MAGIC) {
    throw new KernelFormatError(`not an arm64 Image: magic at 0x38 is ${hex(magic)}, expected ${hex(ARM64_IMAGE.MAGIC)} ("ARM\\x64")`);
  }
  checkPeFileSize(bytes, dv);
  const imageSize = u64(dv, ARM64_IMAGE.IMAGE_SIZE, 'image_size');
  if (imageSize === 0) {
    // Before 3.17 text_offset had no defined endianness and flags did not exist.
    return { textOffset: LEGACY_TEXT_OFFSET, effectiveSize: bytes.length, hasImageSize: false, pageSize: undefined, placeAnywhere: false, bytes };
  }
  const textOffset = u64(dv, ARM64_IMAGE.TEXT_OFFSET, 'text_offset');
  if (textOffset >= ARM64_KERNEL_ALIGN || textOffset % 0x1000 !== 0) {
    throw new KernelFormatError(`arm64 Image text_offset ${hex(textOffset)} is not a 4 KiB multiple below 2 MiB`);
  }
  const flags = dv.getUint32(ARM64_IMAGE.FLAGS, true);
  if ((flags & ARM64_IMAGE_FLAG.BE) !== 0) {
    throw new KernelFormatError('this arm64 Image is a big-endian kernel (flags bit 0); tsvmm boots little-endian kernels only');
  }
  return {
    textOffset,
    effectiveSize: Math.max(imageSize, bytes.length),
    hasImageSize: true,
    pageSize: PAGE_SIZES[(flags >>> ARM64_IMAGE_FLAG.PAGE_SIZE_SHIFT) & ARM64_IMAGE_FLAG.PAGE_SIZE_MASK],
    placeAnywhere: (flags & ARM64_IMAGE_FLAG.PHYS_BASE) !== 0,
    bytes,
  };
}

/**
 * The header does not say how long the file is: image_size counts .bss,
 * which is not in the file, so a file shorter than image_size is normal and
 * the arm64 header alone cannot reveal a truncated Image. An EFI-stub Image
 * (the usual case, "MZ" at 0) does say it: its PE/COFF section table gives
 * each section's bytes in the file, and Linux makes the last one (.data,
 * PointerToRawData = __initdata_begin, SizeOfRawData = __pecoff_data_rawsize)
 * end exactly at _edata, the end of the Image file (vmlinux.lds.S,
 * PECOFF_EDATA_PADDING), as UEFI firmware checks. A file shorter than
 * that, or than its own PE headers, is truncated. Without "MZ", or without a
 * PE signature where 0x3c points, nothing is declared and nothing is checked.
 */
function checkPeFileSize(bytes: Uint8Array, dv: DataView): void {
  if (bytes[0] !== PE_COFF.MZ[0] || bytes[1] !== PE_COFF.MZ[1]) return;
  const truncated = (what: string, end: number): KernelFormatError =>
    new KernelFormatError(`arm64 Image is truncated: ${what} ends at byte ${end}, the file has ${bytes.length} (${end - bytes.length} missing)`);
  const pe = dv.getUint32(PE_COFF.PE_OFFSET_FIELD, true);
  if (pe + PE_COFF.OPTIONAL_HEADER > bytes.length) throw truncated(`the PE/COFF header at ${hex(pe)}`, pe + PE_COFF.OPTIONAL_HEADER);
  if (dv.getUint32(pe, true) !== PE_COFF.SIGNATURE) return;
  const sections = dv.getUint16(pe + PE_COFF.NUMBER_OF_SECTIONS, true);
  const table = pe + PE_COFF.OPTIONAL_HEADER + dv.getUint16(pe + PE_COFF.SIZE_OF_OPTIONAL_HEADER, true);
  const tableEnd = table + sections * PE_COFF.SECTION_HEADER_SIZE;
  if (tableEnd > bytes.length) throw truncated(`the PE/COFF section table (${sections} sections at ${hex(table)})`, tableEnd);
  for (let i = 0; i < sections; i++) {
    const at = table + i * PE_COFF.SECTION_HEADER_SIZE;
    const raw = dv.getUint32(at + PE_COFF.SECTION_SIZE_OF_RAW_DATA, true);
    if (raw === 0) continue; // nothing of this section is in the file
    const end = dv.getUint32(at + PE_COFF.SECTION_POINTER_TO_RAW_DATA, true) + raw;
    if (end > bytes.length) throw truncated(`PE/COFF section ${sectionName(bytes, at)}`, end);
  }
}

function sectionName(bytes: Uint8Array, at: number): string {
  const raw = bytes.subarray(at, at + PE_COFF.SECTION_NAME_SIZE);
  const nul = raw.indexOf(0);
  return JSON.stringify(String.fromCharCode(...raw.subarray(0, nul < 0 ? raw.length : nul)));
}

/** True when the bytes start a gzip stream. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/**
 * Some distributions ship the arm64 Image gzip-compressed (vmlinuz); booting.rst
 * requires the loader to decompress it. Returns the bytes unchanged when they
 * are not gzip; `maxBytes` bounds the output (a gzip bomb fails cleanly).
 */
export function gunzipImage(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    const out = gunzipSync(bytes, { maxOutputLength: maxBytes });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new KernelFormatError(`cannot decompress the gzip'd kernel (limit ${maxBytes} bytes): ${(err as Error).message}`, { cause: err });
  }
}
