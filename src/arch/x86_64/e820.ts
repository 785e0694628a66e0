// Guest RAM regions and the e820 memory map the kernel reads from the zero page.
//
// Source: arch/x86/include/uapi/asm/setup_data.h / asm/e820/types.h (entry
// types), Documentation/arch/x86/zero-page.rst, and the layout in layout.ts.
// RAM is one region from 0 up to the 32-bit MMIO hole, and the remainder from
// 4 GiB. The e820 map then carves the legacy areas out of the first region:
//   [0, 0x9fc00)        usable
//   [0x9fc00, 0xa0000)  reserved (EBDA: the MP table lives here)
//   [0xa0000, 1 MiB)    absent: VGA and ROM hole, never usable RAM
//   [1 MiB, min(ram, 3 GiB))          usable
//   [4 GiB, 4 GiB + ram - 3 GiB)      usable, when RAM is larger than 3 GiB
import { LAYOUT, PAGE_SIZE } from './layout.js';
import { TsvmmError } from '../../base/errors.js';

/** e820 entry types (arch/x86/include/asm/e820/types.h). */
export const E820_TYPE = {
  RAM: 1,
  RESERVED: 2,
  ACPI: 3,
  NVS: 4,
  UNUSABLE: 5,
} as const;

export interface E820Entry {
  readonly addr: number;
  readonly size: number;
  readonly type: number;
}

/** A guest RAM region, for GuestMemory.create and KVM memory slots. */
export interface RamRegion {
  readonly gpa: number;
  readonly size: number;
}

export class MemoryLayoutError extends TsvmmError {}

/** RAM must reach past 1 MiB (the kernel loads there) and be whole pages. */
function checkMemSize(memSize: number): void {
  if (!Number.isSafeInteger(memSize) || memSize <= LAYOUT.HIMEM_START || memSize % PAGE_SIZE !== 0) {
    throw new MemoryLayoutError(
      `guest RAM size ${memSize} is invalid: it must be a multiple of ${PAGE_SIZE} bytes and larger than 1 MiB`,
    );
  }
}

/** The guest RAM regions for `memSize` bytes of RAM, split around the 32-bit MMIO hole. */
export function ramRegions(memSize: number): RamRegion[] {
  checkMemSize(memSize);
  if (memSize <= LAYOUT.MMIO32_START) return [{ gpa: 0, size: memSize }];
  return [
    { gpa: 0, size: LAYOUT.MMIO32_START },
    { gpa: LAYOUT.RAM_ABOVE_4G_START, size: memSize - LAYOUT.MMIO32_START },
  ];
}

/** First address past the RAM that lies below the 32-bit MMIO hole. */
export function lowRamEnd(memSize: number): number {
  checkMemSize(memSize);
  return Math.min(memSize, LAYOUT.MMIO32_START);
}

/** The e820 map for `memSize` bytes of RAM laid out by ramRegions. */
export function e820Map(memSize: number): E820Entry[] {
  const regions = ramRegions(memSize);
  const entries: E820Entry[] = [
    { addr: 0, size: LAYOUT.EBDA_START, type: E820_TYPE.RAM },
    { addr: LAYOUT.EBDA_START, size: LAYOUT.LOW_RAM_END - LAYOUT.EBDA_START, type: E820_TYPE.RESERVED },
  ];
  for (const r of regions) {
    const start = Math.max(r.gpa, LAYOUT.HIMEM_START);
    const end = r.gpa + r.size;
    if (end > start) entries.push({ addr: start, size: end - start, type: E820_TYPE.RAM });
  }
  return entries;
}
