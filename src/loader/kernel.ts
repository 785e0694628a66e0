// Tells a kernel image's format from its bytes, never from its file name.
//
// Sources: gABI (ELF magic), Documentation/arch/arm64/booting.rst (the arm64
// Image header's magic "ARM\x64" at offset 0x38) and
// Documentation/arch/x86/boot.rst (boot_flag 0xAA55 at 0x1fe, "HdrS" at
// 0x202). Both arm64 Images and bzImages may start with "MZ" (an EFI stub), so
// the PE header says nothing here.
import { BZIMAGE_MAGIC, SETUP_HEADER } from './bzimage.js';
import { ELF_IDENT } from './elf.js';
import { ARM64_IMAGE } from './arm64_image.js';

export { ARM64_IMAGE };

export type KernelFormat = 'bzimage' | 'elf' | 'arm64-image' | 'unknown';

function u16(b: Uint8Array, at: number): number {
  return (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8);
}

function u32(b: Uint8Array, at: number): number {
  return (u16(b, at) | (u16(b, at + 2) << 16)) >>> 0;
}

export function detectKernelFormat(bytes: Uint8Array): KernelFormat {
  if (bytes.length >= 4 && ELF_IDENT.MAGIC.every((m, i) => bytes[i] === m)) return 'elf';
  if (bytes.length >= ARM64_IMAGE.MAGIC_OFFSET + 4 && u32(bytes, ARM64_IMAGE.MAGIC_OFFSET) === ARM64_IMAGE.MAGIC) {
    return 'arm64-image';
  }
  if (
    bytes.length >= SETUP_HEADER.HEADER + 4 &&
    u16(bytes, SETUP_HEADER.BOOT_FLAG) === BZIMAGE_MAGIC.BOOT_FLAG &&
    u32(bytes, SETUP_HEADER.HEADER) === BZIMAGE_MAGIC.HEADER
  ) {
    return 'bzimage';
  }
  return 'unknown';
}
