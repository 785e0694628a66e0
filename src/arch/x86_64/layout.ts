// The x86_64 guest-physical memory map and boot-time magic numbers.
//
// Every address the x86 boot path writes to or reserves is named here, once,
// with where it comes from. Sources: Documentation/arch/x86/boot.rst (zero
// page, command line, 64-bit entry), the Intel MultiProcessor Specification
// 1.4 (EBDA, table placement), the Intel SDM vol. 3 (LAPIC, paging) and the
// KVM API documentation (KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR).
//
// Low memory, below 1 MiB:
//   0x0500  GDT                 0x7000  zero page (struct boot_params)
//   0x0540  IDT (empty)         0x8ff0  boot stack top (grows down)
//   0x9000  PML4                0xa000  PDPT          0xb000-0xefff  4 PDs
//   0x20000 command line        0x9fc00 EBDA: MP table
//   0xa0000-0x100000  legacy VGA/ROM hole (not RAM in e820)
// Above: kernel at 1 MiB; RAM up to 3 GiB; the 32-bit MMIO hole 3-4 GiB; the
// rest of RAM from 4 GiB.

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Guest page size (x86 4 KiB pages). */
export const PAGE_SIZE = 0x1000;

export const LAYOUT = {
  /** Boot GDT: 8-byte descriptors (null, unused, __BOOT_CS, __BOOT_DS, 16-byte TSS), room for 8. Past the real-mode IVT and BDA (0-0x4ff). */
  GDT_START: 0x500,
  /** Boot IDT: one empty entry (interrupts stay disabled until Linux loads its own). After the GDT's 8 slots. */
  IDT_START: 0x540,
  /** struct boot_params ("zero page"), 4 KiB, passed in %rsi (boot.rst, 64-bit boot protocol). */
  ZERO_PAGE_START: 0x7000,
  /** Initial %rsp/%rbp: top of the page below the page tables, 16-byte aligned. */
  BOOT_STACK_POINTER: 0x8ff0,
  /** Identity-mapping page tables: PML4 (one page). */
  PML4_START: 0x9000,
  /** Page-directory-pointer table (one page, 4 entries used). */
  PDPT_START: 0xa000,
  /** Four page directories of 2 MiB pages, mapping 0-4 GiB (0xb000-0xefff). */
  PD_START: 0xb000,
  /** Number of page directories: one per GiB of the identity map. */
  PD_COUNT: 4,
  /** Kernel command line, NUL-terminated (boot.rst: cmd_line_ptr, protocol 2.02+); in low memory, clear of the tables. */
  CMDLINE_START: 0x20000,
  /** Room reserved for the command line (far above any kernel's cmdline_size). */
  CMDLINE_MAX_SIZE: 0x10000,
  /** Extended BIOS Data Area: the last KiB below 640 KiB. Linux scans it for the MP floating pointer (MPS 1.4 sec. 4). */
  EBDA_START: 0x9fc00,
  /** Where the MP table is written: start of the EBDA. */
  MPTABLE_START: 0x9fc00,
  /** End of conventional memory: 640 KiB. 0xa0000-0xfffff is VGA memory and option/BIOS ROMs. */
  LOW_RAM_END: 0xa0000,
  /** 1 MiB: start of high memory; the protected-mode kernel is loaded here (boot.rst: "loaded at 0x100000"). */
  HIMEM_START: 0x100000,
  /** Load address of the protected-mode part of a bzImage. A relocatable kernel moves itself to an aligned address. */
  KERNEL_START: 0x100000,
  /** 32-bit MMIO hole: no RAM from 3 GiB up to 4 GiB (PCI BARs, IOAPIC, LAPIC, KVM's private pages). */
  MMIO32_START: 3 * GiB,
  /** Size of the 32-bit MMIO hole. */
  MMIO32_SIZE: 1 * GiB,
  /** 4 GiB: RAM that does not fit below the hole continues here. */
  RAM_ABOVE_4G_START: 4 * GiB,
  /** 32-bit PCI memory window: from the start of the hole to the platform devices below. */
  PCI_MMIO32_START: 3 * GiB,
  /** End (exclusive) of the PCI window: the platform region begins at the IOAPIC. */
  PCI_MMIO32_END: 0xfec00000,
  /** I/O APIC MMIO base (Intel 82093AA datasheet; the MP table and Linux's default). */
  IOAPIC_START: 0xfec00000,
  /** I/O APIC register window size. */
  IOAPIC_SIZE: 0x1000,
  /** Local APIC MMIO base (SDM vol. 3, 11.4.1: IA32_APIC_BASE default). */
  LAPIC_START: 0xfee00000,
  /** The local APIC's register page (SDM vol. 3, 11.4.1: 4 KiB). */
  LAPIC_SIZE: 0x1000,
  /** Three pages KVM needs for its real-mode TSS on Intel (KVM_SET_TSS_ADDR); must be inside the hole, not RAM. */
  KVM_TSS_ADDRESS: 0xfffbd000,
  /** Size of that TSS area (api.rst, KVM_SET_TSS_ADDR: "a three-page region"). */
  KVM_TSS_SIZE: 0x3000,
  /** One page for KVM's EPT identity map on Intel (KVM_SET_IDENTITY_MAP_ADDR), just below the TSS. */
  KVM_IDENTITY_MAP_START: 0xfffbc000,
  /** Size of the identity map (api.rst, KVM_SET_IDENTITY_MAP_ADDR: "a one-page region"). */
  KVM_IDENTITY_MAP_SIZE: 0x1000,
} as const;

/** Local APIC version reported in the MP table (integrated APIC, SDM 11.4.8). */
export const APIC_VERSION = 0x14;
/** I/O APIC version reported in the MP table (82093AA). */
export const IOAPIC_VERSION = 0x11;
/** Pins on the emulated I/O APIC (82093AA: 24 redirection entries). */
export const IOAPIC_PINS = 24;
/** Number of legacy ISA IRQ lines (two cascaded 8259 PICs). */
export const ISA_IRQS = 16;
