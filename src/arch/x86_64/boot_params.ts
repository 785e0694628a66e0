// struct boot_params (the "zero page"), the command line and initrd placement.
//
// Sources: Documentation/arch/x86/zero-page.rst and boot.rst,
// arch/x86/include/uapi/asm/bootparam.h. For a bzImage the kernel's own setup
// header is copied in and the loader fields are filled; an ELF vmlinux has no
// setup header in the file, so a minimal one is synthesised.
import { BZIMAGE_MAGIC, LOADFLAGS, SETUP_HEADER, type BzImage } from '../../loader/bzimage.js';
import type { GuestMemory } from '../../memory/guest_memory.js';
import type { E820Entry } from './e820.js';
import { LAYOUT, PAGE_SIZE } from './layout.js';
import { TsvmmError } from '../../base/errors.js';
import { hex } from '../../base/format.js';

/** Offsets in struct boot_params (zero-page.rst). Setup-header fields use SETUP_HEADER. */
export const BOOT_PARAMS = {
  SIZE: 0x1000,
  EXT_RAMDISK_IMAGE: 0x0c0,
  EXT_RAMDISK_SIZE: 0x0c4,
  EXT_CMD_LINE_PTR: 0x0c8,
  E820_ENTRIES: 0x1e8,
  /** Must stay 0: a non-zero sentinel tells the kernel the loader copied garbage (boot.rst). */
  SENTINEL: 0x1ef,
  E820_TABLE: 0x2d0,
  /** E820_MAX_ENTRIES_ZEROPAGE. */
  E820_MAX_ENTRIES: 128,
  /** struct boot_e820_entry: u64 addr, u64 size, u32 type (packed). */
  E820_ENTRY_SIZE: 20,
} as const;

/** type_of_loader 0xff: "undefined" boot loader (boot.rst, type_of_loader). */
export const LOADER_TYPE_UNDEFINED = 0xff;
/**
 * heap_end_ptr: offset from the real-mode code of the end of the setup heap,
 * minus 0x200 (boot.rst). Only the real-mode setup uses it; 0xfe00 is the
 * conventional value for a full 64 KiB setup segment.
 */
export const HEAP_END_PTR = 0xfe00;
/** Protocol version claimed by the header synthesised for an ELF vmlinux (2.15). */
export const SYNTHETIC_BOOT_PROTOCOL = 0x020f;
/** kernel_alignment in the synthesised header: 2 MiB, x86_64's default CONFIG_PHYSICAL_ALIGN (informational: a vmlinux is not relocated). */
export const SYNTHETIC_KERNEL_ALIGNMENT = 0x200000;
/** Command line limit when the kernel does not say: COMMAND_LINE_SIZE (2048, asm/setup.h) minus the NUL. */
export const DEFAULT_CMDLINE_SIZE = 2047;
/** initrd_addr_max when the kernel does not say (boot.rst: 0x37ffffff for protocols before 2.03). */
export const DEFAULT_INITRD_ADDR_MAX = 0x37ffffff;

export class BootParamsError extends TsvmmError {}

export class InitrdPlacementError extends TsvmmError {}

export class CmdlineError extends TsvmmError {}

const lo32 = (n: number): number => n >>> 0;
const hi32 = (n: number): number => Math.floor(n / 0x1_0000_0000) >>> 0;

export interface BootParamsInput {
  /** The bzImage's setup header (BzImage.setupHeader); omit for an ELF vmlinux. */
  readonly setupHeader?: Uint8Array;
  /** Guest-physical address of the NUL-terminated command line. */
  readonly cmdlineAddr: number;
  readonly initrd?: { readonly addr: number; readonly size: number };
  readonly e820: readonly E820Entry[];
}

/** Builds the 4 KiB zero page. The caller writes it at LAYOUT.ZERO_PAGE_START. */
export function buildBootParams(input: BootParamsInput): Uint8Array {
  const zp = new Uint8Array(BOOT_PARAMS.SIZE);
  const dv = new DataView(zp.buffer);
  const u64 = (at: number, v: number): void => {
    dv.setUint32(at, lo32(v), true);
    dv.setUint32(at + 4, hi32(v), true);
  };
  const checkAddr = (what: string, v: number): void => {
    if (!Number.isSafeInteger(v) || v < 0 || v > 0xffff_ffff_ffff) throw new BootParamsError(`${what} ${v} is not a guest address`);
  };

  if (input.setupHeader !== undefined) {
    const h = input.setupHeader;
    if (h.length < SETUP_HEADER.CMDLINE_SIZE + 4 - SETUP_HEADER.START || SETUP_HEADER.START + h.length > SETUP_HEADER.MAX_END) {
      throw new BootParamsError(`setup header of ${h.length} bytes does not fit boot_params (0x1f1-0x290)`);
    }
    zp.set(h, SETUP_HEADER.START);
  } else {
    // No setup header in an ELF vmlinux: the fields the kernel checks.
    dv.setUint16(SETUP_HEADER.BOOT_FLAG, BZIMAGE_MAGIC.BOOT_FLAG, true);
    dv.setUint32(SETUP_HEADER.HEADER, BZIMAGE_MAGIC.HEADER, true);
    dv.setUint16(SETUP_HEADER.VERSION, SYNTHETIC_BOOT_PROTOCOL, true);
    zp[SETUP_HEADER.LOADFLAGS] = LOADFLAGS.LOADED_HIGH;
    dv.setUint32(SETUP_HEADER.KERNEL_ALIGNMENT, SYNTHETIC_KERNEL_ALIGNMENT, true);
    dv.setUint32(SETUP_HEADER.CMDLINE_SIZE, DEFAULT_CMDLINE_SIZE, true);
  }
  zp[SETUP_HEADER.TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
  zp[SETUP_HEADER.LOADFLAGS] = zp[SETUP_HEADER.LOADFLAGS]! | LOADFLAGS.CAN_USE_HEAP;
  dv.setUint16(SETUP_HEADER.HEAP_END_PTR, HEAP_END_PTR, true);

  checkAddr('command line address', input.cmdlineAddr);
  dv.setUint32(SETUP_HEADER.CMD_LINE_PTR, lo32(input.cmdlineAddr), true);
  dv.setUint32(BOOT_PARAMS.EXT_CMD_LINE_PTR, hi32(input.cmdlineAddr), true);

  if (input.initrd !== undefined) {
    checkAddr('initrd address', input.initrd.addr);
    checkAddr('initrd size', input.initrd.size);
    dv.setUint32(SETUP_HEADER.RAMDISK_IMAGE, lo32(input.initrd.addr), true);
    dv.setUint32(BOOT_PARAMS.EXT_RAMDISK_IMAGE, hi32(input.initrd.addr), true);
    dv.setUint32(SETUP_HEADER.RAMDISK_SIZE, lo32(input.initrd.size), true);
    dv.setUint32(BOOT_PARAMS.EXT_RAMDISK_SIZE, hi32(input.initrd.size), true);
  }

  if (input.e820.length > BOOT_PARAMS.E820_MAX_ENTRIES) {
    throw new BootParamsError(`${input.e820.length} e820 entries exceed the zero page's ${BOOT_PARAMS.E820_MAX_ENTRIES}`);
  }
  zp[BOOT_PARAMS.E820_ENTRIES] = input.e820.length;
  input.e820.forEach((e, i) => {
    checkAddr(`e820 entry ${i} address`, e.addr);
    checkAddr(`e820 entry ${i} size`, e.size);
    const at = BOOT_PARAMS.E820_TABLE + i * BOOT_PARAMS.E820_ENTRY_SIZE;
    u64(at, e.addr);
    u64(at + 8, e.size);
    dv.setUint32(at + 16, e.type, true);
  });
  return zp;
}

/**
 * Where the kernel ends up after a bzImage decompresses itself (arch/x86/boot/
 * compressed/head_64.S): a relocatable kernel runs at its load address rounded
 * up to kernel_alignment but never below pref_address (LOAD_PHYSICAL_ADDR); a
 * fixed one at pref_address. It needs init_size bytes from there.
 */
export function bzImageMemoryEnd(bz: BzImage, loadAddr: number = LAYOUT.KERNEL_START): number {
  const align = bz.kernelAlignment > 0 ? bz.kernelAlignment : 1;
  const aligned = Math.ceil(loadAddr / align) * align;
  const start = bz.relocatable ? Math.max(aligned, bz.prefAddress) : bz.prefAddress;
  return Math.max(start + bz.initSize, loadAddr + bz.kernel.length);
}

export interface InitrdPlacement {
  /** Size of the initrd image in bytes. */
  readonly size: number;
  /** First byte past the kernel's memory footprint (bzImageMemoryEnd or LoadedElf.end). */
  readonly kernelEnd: number;
  /** The kernel's initrd_addr_max: the highest address the initrd may touch. */
  readonly initrdAddrMax: number;
  /** End of RAM below the 32-bit MMIO hole (e820 lowRamEnd). */
  readonly lowRamEnd: number;
}

/** Picks the initrd address: as high as allowed, page aligned, above the kernel. */
export function placeInitrd(p: InitrdPlacement): number {
  if (!Number.isSafeInteger(p.size) || p.size <= 0) throw new InitrdPlacementError(`initrd size ${p.size} is not a positive byte count`);
  const top = Math.min(p.initrdAddrMax + 1, p.lowRamEnd);
  const bottom = Math.ceil(p.kernelEnd / PAGE_SIZE) * PAGE_SIZE;
  const addr = Math.floor((top - p.size) / PAGE_SIZE) * PAGE_SIZE;
  if (addr < bottom) {
    throw new InitrdPlacementError(
      `initrd of ${p.size} bytes does not fit: only ${Math.max(0, top - bottom)} bytes are free between the kernel end ${hex(bottom)} ` +
        `and ${hex(top)} (initrd_addr_max ${hex(p.initrdAddrMax)}, low RAM ends at ${hex(p.lowRamEnd)})`,
    );
  }
  return addr;
}

/** The command line as bytes with its terminating NUL; the limit excludes the NUL (boot.rst cmdline_size). */
export function encodeCmdline(cmdline: string, cmdlineSize: number): Uint8Array {
  const bytes = new TextEncoder().encode(cmdline);
  if (bytes.includes(0)) throw new CmdlineError('kernel command line contains a NUL byte');
  const limit = Math.min(cmdlineSize, LAYOUT.CMDLINE_MAX_SIZE - 1);
  if (bytes.length > limit) {
    throw new CmdlineError(`kernel command line is ${bytes.length} bytes, the kernel accepts at most ${limit}`);
  }
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Writes the command line at `addr` (default LAYOUT.CMDLINE_START); returns the bytes written. */
export function writeCmdline(mem: GuestMemory, cmdline: string, cmdlineSize: number, addr: number = LAYOUT.CMDLINE_START): number {
  const bytes = encodeCmdline(cmdline, cmdlineSize);
  mem.write(addr, bytes);
  return bytes.length;
}
