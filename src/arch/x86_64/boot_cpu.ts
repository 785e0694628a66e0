// The boot vCPU's initial state for Linux's 64-bit boot protocol, as plain data.
//
// Source: Documentation/arch/x86/boot.rst ("64-bit Boot Protocol"): the CPU is
// in long mode with paging on, the kernel, zero page and command line are
// identity mapped, a GDT holds flat __BOOT_CS (0x10, execute/read) and
// __BOOT_DS (0x18, read/write) descriptors, CS = __BOOT_CS, DS/ES/SS =
// __BOOT_DS, interrupts are off and %rsi points at boot_params. Descriptor and
// paging formats: Intel SDM vol. 3, 3.4.5 and 4.5. The VMM serialises these
// values into kvm_sregs/kvm_regs; nothing here touches KVM.
import type { GuestMemory } from '../../memory/guest_memory.js';
import { ENTRY_64_OFFSET } from '../../loader/bzimage.js';
import { LAYOUT, PAGE_SIZE } from './layout.js';

/** A segment register as KVM's struct kvm_segment holds it; limit is in bytes (granularity applied). */
export interface Segment {
  base: number;
  limit: number;
  selector: number;
  type: number;
  present: 0 | 1;
  dpl: number;
  db: 0 | 1;
  s: 0 | 1;
  l: 0 | 1;
  g: 0 | 1;
  avl: 0 | 1;
}

export interface DescriptorTable {
  base: number;
  limit: number;
}

/** Selectors of the boot GDT (Linux's __BOOT_CS/__BOOT_DS, arch/x86/include/asm/segment.h). */
export const SELECTOR = { NULL: 0x00, BOOT_CS: 0x10, BOOT_DS: 0x18, BOOT_TSS: 0x20 } as const;

/** Segment descriptor type field values (SDM vol. 3, table 3-1 and 3-2). */
export const SEGMENT_TYPE = {
  /** Code, execute/read, accessed. */
  CODE_XRA: 0xb,
  /** Data, read/write, accessed. */
  DATA_RWA: 0x3,
  /** System: 64-bit TSS, busy (VM entry requires a busy TSS in TR). */
  TSS64_BUSY: 0xb,
} as const;

/** Control register bits (SDM vol. 3, 2.5). */
export const CR0 = { PE: 1 << 0, MP: 1 << 1, ET: 1 << 4, NE: 1 << 5, WP: 1 << 16, AM: 1 << 18, PG: 0x8000_0000 } as const;
export const CR4 = { PAE: 1 << 5 } as const;
/** IA32_EFER bits (SDM vol. 3, 2.2.1). */
export const EFER = { SCE: 1 << 0, LME: 1 << 8, LMA: 1 << 10, NXE: 1 << 11 } as const;
/** Paging-structure entry bits (SDM vol. 3, 4.5). */
export const PTE = { PRESENT: 1 << 0, RW: 1 << 1, USER: 1 << 2, PS: 1 << 7 } as const;
/** RFLAGS bit 1 is reserved and always 1; IF (bit 9) stays clear. */
export const RFLAGS_RESERVED = 0x2;

/** Initial CR0: protected mode + paging; ET and NE as on any x87-integrated CPU; CD/NW clear so RAM is cached. */
export const BOOT_CR0 = (CR0.PE | CR0.ET | CR0.NE | CR0.PG) >>> 0;

const TWO_MIB = 0x20_0000;
const ONE_GIB = 0x4000_0000;
const ENTRIES_PER_TABLE = 512;

/** A descriptor's flat fields, as held in the GDT (SDM vol. 3, figure 3-8). */
export function encodeGdtEntry(seg: Segment): bigint {
  let limit = seg.limit >>> 0;
  if (seg.g === 1) {
    if ((limit & 0xfff) !== 0xfff) throw new RangeError(`page-granular limit 0x${limit.toString(16)} must end in 0xfff`);
    limit >>>= 12;
  }
  if (limit > 0xfffff) throw new RangeError(`limit 0x${limit.toString(16)} does not fit 20 bits (set g)`);
  if (!Number.isSafeInteger(seg.base) || seg.base < 0 || seg.base > 0xffff_ffff) throw new RangeError(`segment base ${seg.base} is not 32-bit`);
  const base = seg.base;
  const lo = ((limit & 0xffff) | ((base & 0xffff) << 16)) >>> 0;
  const hi =
    (((base >>> 16) & 0xff) |
      ((seg.type & 0xf) << 8) |
      (seg.s << 12) |
      ((seg.dpl & 3) << 13) |
      (seg.present << 15) |
      (limit & 0xf0000) |
      (seg.avl << 20) |
      (seg.l << 21) |
      (seg.db << 22) |
      (seg.g << 23) |
      ((base >>> 24) << 24)) >>>
    0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

const bit = (v: number, n: number): 0 | 1 => ((v >>> n) & 1) as 0 | 1;

/** The segment-register value loaded from descriptor `raw` with `selector`. */
export function decodeGdtEntry(raw: bigint, selector: number): Segment {
  const lo = Number(raw & 0xffff_ffffn);
  const hi = Number((raw >> 32n) & 0xffff_ffffn);
  const g = bit(hi, 23);
  const rawLimit = (lo & 0xffff) | (hi & 0xf0000);
  return {
    base: ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff00_0000)) >>> 0,
    limit: g === 1 ? ((rawLimit << 12) | 0xfff) >>> 0 : rawLimit,
    selector,
    type: (hi >>> 8) & 0xf,
    present: bit(hi, 15),
    dpl: (hi >>> 13) & 3,
    db: bit(hi, 22),
    s: bit(hi, 12),
    l: bit(hi, 21),
    g,
    avl: bit(hi, 20),
  };
}

const flat = { base: 0, limit: 0xffff_ffff, present: 1, dpl: 0, s: 1, g: 1, avl: 0 } as const;

/** The boot GDT, one Segment per 8-byte slot, indexed by selector >> 3. */
export function bootGdt(): Segment[] {
  const none: Segment = { base: 0, limit: 0, selector: 0, type: 0, present: 0, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0 };
  return [
    none, // 0x00: null descriptor
    { ...none, selector: 0x08 }, // 0x08: unused (Linux reserves it)
    { ...flat, selector: SELECTOR.BOOT_CS, type: SEGMENT_TYPE.CODE_XRA, db: 0, l: 1 }, // 64-bit code
    { ...flat, selector: SELECTOR.BOOT_DS, type: SEGMENT_TYPE.DATA_RWA, db: 1, l: 0 },
    // 64-bit TSS: KVM needs a usable TR; Linux loads its own before using it. 0x67 = 104-byte TSS - 1.
    { base: 0, limit: 0x67, selector: SELECTOR.BOOT_TSS, type: SEGMENT_TYPE.TSS64_BUSY, present: 1, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0 },
    { ...none, selector: 0x28 }, // high half of the 16-byte TSS descriptor: base 63:32 = 0
  ];
}

/** Writes the boot GDT and an empty IDT into guest memory; returns their table registers. */
export function writeDescriptorTables(mem: GuestMemory): { gdt: DescriptorTable; idt: DescriptorTable } {
  const gdt = bootGdt();
  gdt.forEach((seg, i) => mem.writeU64(LAYOUT.GDT_START + i * 8, encodeGdtEntry(seg)));
  mem.writeU64(LAYOUT.IDT_START, 0n);
  return {
    gdt: { base: LAYOUT.GDT_START, limit: gdt.length * 8 - 1 },
    idt: { base: LAYOUT.IDT_START, limit: 7 },
  };
}

export interface PageTableOptions {
  /** Set U/S on every level, so ring-3 code can use the map too (test guests). */
  readonly user?: boolean;
}

/**
 * Writes identity-mapping page tables for 0-4 GiB with 2 MiB pages: PML4[0] ->
 * PDPT, PDPT[0..3] -> four PDs. Returns the value for CR3.
 */
export function writeIdentityPageTables(mem: GuestMemory, options: PageTableOptions = {}): number {
  const flags = PTE.PRESENT | PTE.RW | (options.user === true ? PTE.USER : 0);
  mem.fill(LAYOUT.PML4_START, PAGE_SIZE, 0);
  mem.fill(LAYOUT.PDPT_START, PAGE_SIZE, 0);
  mem.writeU64(LAYOUT.PML4_START, LAYOUT.PDPT_START | flags);
  for (let d = 0; d < LAYOUT.PD_COUNT; d++) {
    const pd = LAYOUT.PD_START + d * PAGE_SIZE;
    mem.writeU64(LAYOUT.PDPT_START + d * 8, pd | flags);
    for (let e = 0; e < ENTRIES_PER_TABLE; e++) {
      mem.writeU64(pd + e * 8, d * ONE_GIB + e * TWO_MIB + (flags | PTE.PS));
    }
  }
  return LAYOUT.PML4_START;
}

/** The special registers for long mode; merge into what KVM_GET_SREGS returned. */
export interface LongModeSregs {
  cs: Segment;
  ds: Segment;
  es: Segment;
  fs: Segment;
  gs: Segment;
  ss: Segment;
  tr: Segment;
  gdt: DescriptorTable;
  idt: DescriptorTable;
  cr0: number;
  cr3: number;
  cr4: number;
  efer: number;
}

/** Writes GDT, IDT and page tables, and returns the long-mode sregs that use them. */
export function setupLongMode(mem: GuestMemory, options: PageTableOptions = {}): LongModeSregs {
  const { gdt, idt } = writeDescriptorTables(mem);
  const cr3 = writeIdentityPageTables(mem, options);
  return longModeSregs(gdt, idt, cr3);
}

/** Long-mode sregs for the boot GDT (pure: no memory writes). */
export function longModeSregs(gdt: DescriptorTable, idt: DescriptorTable, cr3: number): LongModeSregs {
  const table = bootGdt();
  const seg = (selector: number): Segment => {
    const s = table[selector >> 3];
    if (s === undefined) throw new RangeError(`selector 0x${selector.toString(16)} is outside the boot GDT`);
    // Round-trip through the descriptor encoding: the registers hold exactly what the GDT says.
    return decodeGdtEntry(encodeGdtEntry(s), selector);
  };
  const data = seg(SELECTOR.BOOT_DS);
  return {
    cs: seg(SELECTOR.BOOT_CS),
    ds: data,
    es: { ...data },
    fs: { ...data },
    gs: { ...data },
    ss: { ...data },
    tr: seg(SELECTOR.BOOT_TSS),
    gdt,
    idt,
    cr0: BOOT_CR0,
    cr3,
    cr4: CR4.PAE,
    efer: EFER.LME | EFER.LMA,
  };
}

/** General registers at the 64-bit entry; all others are zero. */
export interface BootRegs {
  rip: number;
  rsp: number;
  rbp: number;
  rsi: number;
  rflags: number;
}

/** The 64-bit entry of a bzImage whose protected-mode part is at `loadAddr` (boot.rst). */
export function bzImageEntry(loadAddr: number = LAYOUT.KERNEL_START): number {
  return loadAddr + ENTRY_64_OFFSET;
}

/** Registers for the 64-bit boot protocol: rip = entry (bzImageEntry, or the ELF e_entry), rsi = zero page. */
export function bootRegs(entry: number, zeroPage: number = LAYOUT.ZERO_PAGE_START): BootRegs {
  return {
    rip: entry,
    rsp: LAYOUT.BOOT_STACK_POINTER,
    rbp: LAYOUT.BOOT_STACK_POINTER,
    rsi: zeroPage,
    rflags: RFLAGS_RESERVED,
  };
}
