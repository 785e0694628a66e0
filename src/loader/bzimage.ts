// bzImage parser: the x86 Linux boot protocol's setup header, read from bytes.
//
// Source: Documentation/arch/x86/boot.rst ("THE REAL-MODE KERNEL HEADER").
// A bzImage is [boot sector + real-mode setup: (setup_sects+1) * 512 bytes]
// followed by the protected-mode kernel, whose 64-bit entry point sits 0x200
// bytes in. The protected-mode part carries the compressed vmlinux at
// payload_offset (protocol 2.08+). This module only parses; loading and the
// zero page live in arch/x86_64.
import { KernelFormatError, hex } from './errors.js';

/** Byte offsets of setup-header fields in the image file (boot.rst table). */
export const SETUP_HEADER = {
  START: 0x1f1,
  SETUP_SECTS: 0x1f1,
  /** Size of the protected-mode code in 16-byte paragraphs (32 bits wide from protocol 2.04). */
  SYSSIZE: 0x1f4,
  BOOT_FLAG: 0x1fe,
  JUMP: 0x200,
  HEADER: 0x202,
  VERSION: 0x206,
  KERNEL_VERSION: 0x20e,
  TYPE_OF_LOADER: 0x210,
  LOADFLAGS: 0x211,
  CODE32_START: 0x214,
  RAMDISK_IMAGE: 0x218,
  RAMDISK_SIZE: 0x21c,
  HEAP_END_PTR: 0x224,
  CMD_LINE_PTR: 0x228,
  INITRD_ADDR_MAX: 0x22c,
  KERNEL_ALIGNMENT: 0x230,
  RELOCATABLE_KERNEL: 0x234,
  MIN_ALIGNMENT: 0x235,
  XLOADFLAGS: 0x236,
  CMDLINE_SIZE: 0x238,
  PAYLOAD_OFFSET: 0x248,
  PAYLOAD_LENGTH: 0x24c,
  PREF_ADDRESS: 0x258,
  INIT_SIZE: 0x260,
  /** boot_params has room for the header up to edd_mbr_sig_buffer (0x290). */
  MAX_END: 0x290,
} as const;

/** Magic values of the setup header (boot.rst). */
export const BZIMAGE_MAGIC = {
  /** boot_flag at 0x1fe: the legacy boot-sector signature. */
  BOOT_FLAG: 0xaa55,
  /** "HdrS" at 0x202, little endian. */
  HEADER: 0x53726448,
  /** Short jmp opcode at 0x200; its operand + 0x202 is the end of the header. */
  JMP_SHORT: 0xeb,
} as const;

/** Protocol versions (major << 8 | minor) that added fields we rely on. */
export const BOOT_PROTOCOL = {
  /** 2.06 added cmdline_size; older kernels cannot tell us the limit. */
  MIN_SUPPORTED: 0x0206,
  /** 2.08 added payload_offset/payload_length. */
  PAYLOAD: 0x0208,
  /** 2.10 added pref_address and init_size. */
  PREF_ADDRESS: 0x020a,
  /** 2.12 added xloadflags (XLF_KERNEL_64). */
  XLOADFLAGS: 0x020c,
} as const;

/** Bits of loadflags (0x211). */
export const LOADFLAGS = {
  /** The protected-mode code is loaded at 0x100000 (bzImage). */
  LOADED_HIGH: 0x01,
  KASLR_FLAG: 0x02,
  QUIET_FLAG: 0x20,
  KEEP_SEGMENTS: 0x40,
  /** heap_end_ptr is valid. */
  CAN_USE_HEAP: 0x80,
} as const;

/** Bits of xloadflags (0x236, protocol 2.12+). */
export const XLOADFLAGS = {
  /** The kernel has the legacy 64-bit entry point at offset 0x200. */
  XLF_KERNEL_64: 0x01,
  XLF_CAN_BE_LOADED_ABOVE_4G: 0x02,
  XLF_EFI_HANDOVER_32: 0x04,
  XLF_EFI_HANDOVER_64: 0x08,
  XLF_EFI_KEXEC: 0x10,
  XLF_5LEVEL: 0x20,
  XLF_5LEVEL_ENABLED: 0x40,
} as const;

/** setup_sects == 0 means 4 (boot.rst: "for backwards compatibility"). */
export const DEFAULT_SETUP_SECTS = 4;
const SECTOR_SIZE = 512;
/** syssize counts 16-byte paragraphs (boot.rst: "The size of the protected-mode code in units of 16-byte paragraphs"). */
const SYSSIZE_UNIT = 16;
/** The 64-bit entry point, relative to the start of the protected-mode kernel. */
export const ENTRY_64_OFFSET = 0x200;

export type PayloadFormat = 'gzip' | 'xz' | 'lz4' | 'zstd' | 'bzip2' | 'lzma' | 'lzo' | 'unknown';

/** The compressed vmlinux inside the protected-mode kernel. */
export interface Payload {
  readonly format: PayloadFormat;
  /** The payload_length bytes at payload_offset; the last 4 are the size trailer. */
  readonly bytes: Uint8Array;
  /** Decompressed size, from the little-endian u32 the kernel build appends. */
  readonly decompressedSize: number;
}

export interface BzImage {
  /** Boot protocol version, e.g. 0x020f for 2.15. */
  readonly version: number;
  readonly setupSects: number;
  readonly loadflags: number;
  readonly xloadflags: number;
  readonly kernelAlignment: number;
  readonly relocatable: boolean;
  readonly minAlignment: number;
  /** Highest address the initrd may occupy (inclusive). */
  readonly initrdAddrMax: number;
  /** Maximum command line length, not counting the terminating NUL. */
  readonly cmdlineSize: number;
  /** Preferred load address of the protected-mode kernel (0 before 2.10). */
  readonly prefAddress: number;
  /** Bytes of memory the kernel needs from its load address while it unpacks (0 before 2.10). */
  readonly initSize: number;
  readonly payloadOffset: number;
  readonly payloadLength: number;
  /** The version string the header points to, if any. */
  readonly kernelVersion: string | undefined;
  /** Setup header bytes [0x1f1, end of header), to copy into boot_params. */
  readonly setupHeader: Uint8Array;
  /** Boot sector + real-mode setup code: the first (setup_sects+1)*512 bytes. */
  readonly setupBytes: Uint8Array;
  /** The protected-mode kernel, loaded at the kernel load address. */
  readonly kernel: Uint8Array;
  /** The compressed payload and its format; throws KernelFormatError if out of bounds. */
  payload(): Payload;
}

function version(v: number): string {
  return `${v >> 8}.${(v & 0xff).toString().padStart(2, '0')}`;
}

/** Recognises a compressed payload by its magic bytes (the kernel's decompress_method table). */
export function detectPayloadFormat(b: Uint8Array): PayloadFormat {
  const at = (i: number): number => b[i] ?? -1;
  if (at(0) === 0x1f && (at(1) === 0x8b || at(1) === 0x9e)) return 'gzip';
  if (at(0) === 0xfd && at(1) === 0x37 && at(2) === 0x7a && at(3) === 0x58 && at(4) === 0x5a && at(5) === 0x00) return 'xz';
  // lz4 legacy frame, magic 0x184C2102 little endian (lz4 -l).
  if (at(0) === 0x02 && at(1) === 0x21 && at(2) === 0x4c && at(3) === 0x18) return 'lz4';
  // zstd frame magic 0xFD2FB528 little endian.
  if (at(0) === 0x28 && at(1) === 0xb5 && at(2) === 0x2f && at(3) === 0xfd) return 'zstd';
  if (at(0) === 0x42 && at(1) === 0x5a && at(2) === 0x68) return 'bzip2'; // "BZh"
  if (at(0) === 0x5d && at(1) === 0x00) return 'lzma'; // lzma-alone: properties 0x5d
  if (at(0) === 0x89 && at(1) === 0x4c && at(2) === 0x5a && at(3) === 0x4f) return 'lzo'; // "\x89LZO"
  return 'unknown';
}

/** Parses a bzImage. Throws KernelFormatError naming the first problem found. */
export function parseBzImage(bytes: Uint8Array): BzImage {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (end: number, what: string): void => {
    if (bytes.length < end) {
      throw new KernelFormatError(`bzImage is truncated: ${bytes.length} bytes, need at least ${end} to read the ${what}`);
    }
  };
  need(SETUP_HEADER.BOOT_FLAG + 2, 'boot sector');
  const bootFlag = dv.getUint16(SETUP_HEADER.BOOT_FLAG, true);
  if (bootFlag !== BZIMAGE_MAGIC.BOOT_FLAG) {
    throw new KernelFormatError(`not a bzImage: boot_flag at 0x1fe is ${hex(bootFlag)}, expected 0xaa55`);
  }
  need(SETUP_HEADER.VERSION + 2, 'setup header');
  const magic = dv.getUint32(SETUP_HEADER.HEADER, true);
  if (magic !== BZIMAGE_MAGIC.HEADER) {
    throw new KernelFormatError(`not a bzImage: header magic at 0x202 is ${hex(magic)}, expected "HdrS" (0x53726448)`);
  }
  const ver = dv.getUint16(SETUP_HEADER.VERSION, true);
  if (ver < BOOT_PROTOCOL.MIN_SUPPORTED) {
    throw new KernelFormatError(`bzImage boot protocol ${version(ver)} is too old: 2.06 or newer is required`);
  }
  const { setupSects, setupSize } = checkSizes(bytes, dv);
  // From here on every header field lies inside the setup area (>= 1024 bytes).
  const jump = bytes[SETUP_HEADER.JUMP]!;
  const headerEnd = SETUP_HEADER.HEADER + bytes[SETUP_HEADER.JUMP + 1]!;
  if (jump !== BZIMAGE_MAGIC.JMP_SHORT || headerEnd <= SETUP_HEADER.CMDLINE_SIZE + 4 || headerEnd > SETUP_HEADER.MAX_END) {
    throw new KernelFormatError(
      `bzImage setup header end is invalid: jump ${hex(jump)} ${hex(bytes[SETUP_HEADER.JUMP + 1]!)} gives end ${hex(headerEnd)}, expected 0xeb and an end in (0x23c, 0x290]`,
    );
  }
  const { loadflags, xloadflags } = checkLoadFlags(bytes, dv, ver);
  const prefHi = dv.getUint32(SETUP_HEADER.PREF_ADDRESS + 4, true);
  if (prefHi >= 0x200000) {
    throw new KernelFormatError(`bzImage pref_address high word ${hex(prefHi)} is not a usable guest address`);
  }
  const prefAddress = prefHi * 0x1_0000_0000 + dv.getUint32(SETUP_HEADER.PREF_ADDRESS, true);
  const kernel = bytes.subarray(setupSize);
  const payloadOffset = dv.getUint32(SETUP_HEADER.PAYLOAD_OFFSET, true);
  const payloadLength = dv.getUint32(SETUP_HEADER.PAYLOAD_LENGTH, true);

  return {
    version: ver,
    setupSects,
    loadflags,
    xloadflags,
    kernelAlignment: dv.getUint32(SETUP_HEADER.KERNEL_ALIGNMENT, true),
    relocatable: bytes[SETUP_HEADER.RELOCATABLE_KERNEL]! !== 0,
    minAlignment: bytes[SETUP_HEADER.MIN_ALIGNMENT]!,
    initrdAddrMax: dv.getUint32(SETUP_HEADER.INITRD_ADDR_MAX, true),
    cmdlineSize: dv.getUint32(SETUP_HEADER.CMDLINE_SIZE, true),
    prefAddress,
    initSize: dv.getUint32(SETUP_HEADER.INIT_SIZE, true),
    payloadOffset,
    payloadLength,
    kernelVersion: readVersionString(bytes, dv.getUint16(SETUP_HEADER.KERNEL_VERSION, true), setupSize),
    setupHeader: bytes.subarray(SETUP_HEADER.START, headerEnd),
    setupBytes: bytes.subarray(0, setupSize),
    kernel,
    payload: () => extractPayload(kernel, payloadOffset, payloadLength),
  };
}

/** setup_sects and the sizes the header declares, checked against the file's length. */
function checkSizes(bytes: Uint8Array, dv: DataView): { setupSects: number; setupSize: number } {
  const setupSectsRaw = bytes[SETUP_HEADER.SETUP_SECTS]!;
  const setupSects = setupSectsRaw === 0 ? DEFAULT_SETUP_SECTS : setupSectsRaw;
  const setupSize = (setupSects + 1) * SECTOR_SIZE;
  if (bytes.length <= setupSize) {
    throw new KernelFormatError(
      `bzImage is truncated: ${bytes.length} bytes, but setup_sects=${setupSects} puts the protected-mode kernel at ${hex(setupSize)}`,
    );
  }
  // The header says how long the file is: setup + syssize paragraphs. Linux
  // builds make the file exactly that long (arch/x86/boot/tools/build.c pads to
  // it; since 6.7 header.S sets syssize = ZO__edata / 16, _edata 32-byte
  // aligned), and signed kernels append a signature after it, so a shorter
  // file lost its end; booting it would fail later, somewhere in the guest.
  const declared = setupSize + dv.getUint32(SETUP_HEADER.SYSSIZE, true) * SYSSIZE_UNIT;
  if (declared > bytes.length) {
    throw new KernelFormatError(
      `bzImage is truncated: the header declares ${declared} bytes (setup_sects=${setupSects}, syssize=${(declared - setupSize) / SYSSIZE_UNIT} paragraphs), the file has ${bytes.length} (${declared - bytes.length} missing)`,
    );
  }
  return { setupSects, setupSize };
}

/** A high-loaded kernel with a 64-bit entry point (boot protocol 2.12+ says so in xloadflags). */
function checkLoadFlags(bytes: Uint8Array, dv: DataView, ver: number): { loadflags: number; xloadflags: number } {
  const loadflags = bytes[SETUP_HEADER.LOADFLAGS]!;
  if ((loadflags & LOADFLAGS.LOADED_HIGH) === 0) {
    throw new KernelFormatError(`bzImage loadflags ${hex(loadflags)} lack LOADED_HIGH: a zImage (low-loaded kernel) is not supported`);
  }
  if (ver < BOOT_PROTOCOL.XLOADFLAGS) {
    throw new KernelFormatError(`bzImage boot protocol ${version(ver)} predates xloadflags (2.12): cannot confirm a 64-bit entry point`);
  }
  const xloadflags = dv.getUint16(SETUP_HEADER.XLOADFLAGS, true);
  if ((xloadflags & XLOADFLAGS.XLF_KERNEL_64) === 0) {
    throw new KernelFormatError(`bzImage is not 64-bit capable: xloadflags ${hex(xloadflags)} lack XLF_KERNEL_64`);
  }
  return { loadflags, xloadflags };
}

/** kernel_version points (minus 0x200) at a NUL-terminated string inside the setup code. */
function readVersionString(bytes: Uint8Array, ptr: number, setupSize: number): string | undefined {
  if (ptr === 0) return undefined;
  const start = ptr + 0x200;
  if (start >= setupSize) return undefined;
  let end = start;
  while (end < setupSize && bytes[end] !== 0) end++;
  if (end === setupSize) return undefined;
  return new TextDecoder('latin1').decode(bytes.subarray(start, end));
}

/** The size trailer the kernel build appends after the compressed stream (scripts/Makefile.lib size_append). */
const SIZE_TRAILER = 4;

function extractPayload(kernel: Uint8Array, offset: number, length: number): Payload {
  if (length < SIZE_TRAILER || offset + length > kernel.length) {
    throw new KernelFormatError(
      `bzImage payload ${hex(offset)}+${hex(length)} does not fit in the ${hex(kernel.length)}-byte protected-mode kernel`,
    );
  }
  const bytes = kernel.subarray(offset, offset + length);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    format: detectPayloadFormat(bytes),
    bytes,
    decompressedSize: dv.getUint32(length - SIZE_TRAILER, true),
  };
}
