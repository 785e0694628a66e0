// Intel MultiProcessor Specification 1.4 table: how Linux finds the I/O APIC
// when there is no ACPI. Source: Intel MPS 1.4, chapter 4 ("MP Configuration
// Table"), and arch/x86/kernel/mpparse.c / arch/x86/include/asm/mpspec_def.h.
//
// Layout written at LAYOUT.MPTABLE_START (the EBDA, which Linux scans):
//   MP floating pointer (16 bytes) -> configuration table header (44 bytes),
//   then entries: processors, buses (PCI 0, ISA 1), the I/O APIC, I/O
//   interrupt assignments (ISA IRQs 0-15, then PCI INTx routes) and the two
//   local interrupt entries (ExtINT on LINT0, NMI on LINT1).
//
// The PCI bus must have MP bus id 0: Linux's IO_APIC_get_PCI_irq_vector
// matches an entry's source bus id against the PCI bus number.
//
// No ACPI MADT: Linux enumerates the CPUs of an SMP guest from this table's
// processor entries when it finds no ACPI tables (x86 find_smp_config ->
// get_smp_config, called when acpi_lapic is unset), and starts each one
// with INIT/SIPI through its LAPIC either way. tsvmm provides no ACPI at all
// (no RSDP in the BIOS area), so Debian's kernel, which has ACPI built in,
// falls back to this table too: its --cpus 2 boot (test/kvm/smp_linux.test.ts)
// and the custom kernel's --cpus 4 boot (test/boot/) bring up every CPU.
// (Firecracker's x86_64 mptable.rs is the same kind of table; kvm-host has
// none, with its one CPU.)
import type { GuestMemory } from '../../memory/guest_memory.js';
import { APIC_VERSION, IOAPIC_PINS, IOAPIC_VERSION, ISA_IRQS, LAYOUT } from './layout.js';
import { TsvmmError } from '../../base/errors.js';

/** Signatures, sizes and field values from MPS 1.4 chapter 4. */
export const MP = {
  FLOATING_SIGNATURE: '_MP_',
  CONFIG_SIGNATURE: 'PCMP',
  /** Spec revision 1.4. */
  SPEC_REV: 4,
  FLOATING_SIZE: 16,
  CONFIG_HEADER_SIZE: 44,
  PROCESSOR_SIZE: 20,
  /** Bus, I/O APIC, I/O interrupt and local interrupt entries are 8 bytes each. */
  ENTRY_SIZE: 8,
  OEM_ID: 'TSVMM',
  PRODUCT_ID: 'TSVMM',
} as const;

/** Entry type codes (MPS table 4-3). */
export const MP_ENTRY = { PROCESSOR: 0, BUS: 1, IOAPIC: 2, IOINT: 3, LINTSRC: 4 } as const;

/** Interrupt types of I/O and local interrupt entries (MPS table 4-8). */
export const MP_INT_TYPE = { INT: 0, NMI: 1, SMI: 2, EXTINT: 3 } as const;

/** I/O interrupt entry flags (MPS table 4-8): polarity bits 1:0, trigger mode bits 3:2. */
export const MP_IRQ_FLAGS = {
  /** Conforms to the bus: edge-triggered, active high on ISA. */
  CONFORMING: 0x0,
  /** PCI INTx: level-triggered (3 << 2), active low (3). */
  PCI_LEVEL_LOW: 0x0f,
} as const;

/** Processor entry CPU flags (MPS table 4-5). */
export const MP_CPU_FLAGS = { ENABLED: 0x1, BOOT_PROCESSOR: 0x2 } as const;
/** CPU signature in processor entries: family 6 (stepping/model 0); Linux only prints it. */
export const MP_CPU_SIGNATURE = 6 << 8;
/** CPUID.1:EDX feature flags in processor entries: FPU (bit 0) and APIC (bit 9). */
export const MP_CPU_FEATURES = (1 << 0) | (1 << 9);
/** I/O APIC entry flag: usable (MPS table 4-7). */
export const MP_IOAPIC_ENABLED = 0x1;
/** Destination "all local APICs" in local interrupt entries. */
export const MP_ALL_APICS = 0xff;

/** MP bus ids used here; the PCI one must equal the PCI bus number (0). */
export const MP_BUS_ID = { PCI: 0, ISA: 1 } as const;

/** One PCI INTx line routed to an I/O APIC pin. */
export interface PciIntxRoute {
  /** PCI device (slot) number on bus 0, 0-31. */
  readonly device: number;
  /** Interrupt pin: 0 = INTA# ... 3 = INTD#. */
  readonly pin: number;
  /** I/O APIC input the line is wired to; use 16-23 to stay clear of ISA IRQs. */
  readonly ioapicPin: number;
}

export interface MpTableOptions {
  /** Number of vCPUs (local APIC ids 0..cpus-1). Default 1. */
  readonly cpus?: number;
  /** PCI INTx wiring, described by the VMM's interrupt routing. Default none. */
  readonly pciRoutes?: readonly PciIntxRoute[];
  /** Guest-physical address the table is written at. Default LAYOUT.MPTABLE_START. */
  readonly base?: number;
}

export class MpTableError extends TsvmmError {}

/** The space Linux scans at the EBDA: 1 KiB (MPS 4.0 / mpparse.c smp_scan_config). */
export const MPTABLE_MAX_SIZE = LAYOUT.LOW_RAM_END - LAYOUT.MPTABLE_START;

/**
 * Standard PCI swizzle onto a set of I/O APIC pins: device d's INTx pin p
 * goes to ioapicPins[(d + p) % n], so neighbouring devices share lines evenly.
 */
export function pciIntxRoutes(devices: readonly number[], ioapicPins: readonly number[]): PciIntxRoute[] {
  if (ioapicPins.length === 0) throw new MpTableError('pciIntxRoutes: no I/O APIC pins given');
  const routes: PciIntxRoute[] = [];
  for (const device of devices) {
    for (let pin = 0; pin < 4; pin++) {
      routes.push({ device, pin, ioapicPin: ioapicPins[(device + pin) % ioapicPins.length]! });
    }
  }
  return routes;
}

/** Bytes of the whole table (floating pointer + configuration table). */
export function mpTableSize(cpus: number, pciRoutes: number): number {
  const entries8 = 2 /* buses */ + 1 /* ioapic */ + ISA_IRQS + pciRoutes + 2 /* lints */;
  return MP.FLOATING_SIZE + MP.CONFIG_HEADER_SIZE + cpus * MP.PROCESSOR_SIZE + entries8 * MP.ENTRY_SIZE;
}

function checkRoutes(routes: readonly PciIntxRoute[]): void {
  const seen = new Set<number>();
  for (const r of routes) {
    if (!Number.isInteger(r.device) || r.device < 0 || r.device > 31) throw new MpTableError(`PCI device ${r.device} is not 0-31`);
    if (!Number.isInteger(r.pin) || r.pin < 0 || r.pin > 3) throw new MpTableError(`PCI interrupt pin ${r.pin} is not 0-3 (INTA-INTD)`);
    if (!Number.isInteger(r.ioapicPin) || r.ioapicPin < 0 || r.ioapicPin >= IOAPIC_PINS) {
      throw new MpTableError(`I/O APIC pin ${r.ioapicPin} is not 0-${IOAPIC_PINS - 1}`);
    }
    const key = (r.device << 2) | r.pin;
    if (seen.has(key)) throw new MpTableError(`PCI device ${r.device} pin ${r.pin} is routed twice`);
    seen.add(key);
  }
}

/** Sum of bytes, mod 256. A table is valid when its checksum byte makes this 0. */
export function byteSum(bytes: Uint8Array): number {
  let s = 0;
  for (const b of bytes) s = (s + b) & 0xff;
  return s;
}

/** Appends MP table entries (MPS 4.3) after the configuration header, counting them. */
class EntryWriter {
  readonly out: Uint8Array;
  readonly dv: DataView;
  at: number;
  count = 0;

  constructor(total: number, first: number) {
    this.out = new Uint8Array(total);
    this.dv = new DataView(this.out.buffer);
    this.at = first;
  }

  /** `s` in a fixed-width, space-padded field. */
  ascii(at: number, s: string, width: number): void {
    for (let i = 0; i < width; i++) this.out[at + i] = i < s.length ? s.charCodeAt(i) : 0x20;
  }

  processor(apicId: number, boot: boolean): void {
    const { out, dv, at } = this;
    out[at] = MP_ENTRY.PROCESSOR;
    out[at + 1] = apicId;
    out[at + 2] = APIC_VERSION;
    out[at + 3] = MP_CPU_FLAGS.ENABLED | (boot ? MP_CPU_FLAGS.BOOT_PROCESSOR : 0);
    dv.setUint32(at + 4, MP_CPU_SIGNATURE, true);
    dv.setUint32(at + 8, MP_CPU_FEATURES, true);
    this.at += MP.PROCESSOR_SIZE; // bytes 12-19 reserved
    this.count++;
  }

  bus(id: number, name: string): void {
    this.out[this.at] = MP_ENTRY.BUS;
    this.out[this.at + 1] = id;
    this.ascii(this.at + 2, name, 6);
    this.at += MP.ENTRY_SIZE;
    this.count++;
  }

  /** An 8-byte entry: type, three bytes, then a little-endian u32. */
  entry8(type: number, b1: number, b2: number, b3: number, rest: number): void {
    const { out, at } = this;
    out[at] = type;
    out[at + 1] = b1;
    out[at + 2] = b2;
    out[at + 3] = b3;
    this.dv.setUint32(at + 4, rest, true);
    this.at += MP.ENTRY_SIZE;
    this.count++;
  }

  /** I/O interrupt entry: int type, flags u16, source bus, source irq, destination I/O APIC, destination pin. */
  ioint(ioapicId: number, flags: number, srcBus: number, srcIrq: number, dstPin: number): void {
    this.entry8(MP_ENTRY.IOINT, MP_INT_TYPE.INT, flags & 0xff, flags >> 8, srcBus | (srcIrq << 8) | (ioapicId << 16) | (dstPin << 24));
  }
}

function checkTable(cpus: number, routes: readonly PciIntxRoute[], base: number): number {
  // The I/O APIC id follows the local APIC ids; ids are 8-bit and 0xff means "all".
  if (!Number.isInteger(cpus) || cpus < 1 || cpus >= MP_ALL_APICS) throw new MpTableError(`vCPU count ${cpus} is not 1-254`);
  checkRoutes(routes);
  const total = mpTableSize(cpus, routes.length);
  if (total > MPTABLE_MAX_SIZE) {
    throw new MpTableError(`MP table needs ${total} bytes (${cpus} CPUs, ${routes.length} PCI routes), only ${MPTABLE_MAX_SIZE} fit in the EBDA`);
  }
  if (!Number.isSafeInteger(base) || base < 0 || base % 16 !== 0 || base + total > 0x1_0000_0000) {
    throw new MpTableError(`MP table base 0x${base.toString(16)} must be 16-byte aligned and below 4 GiB`);
  }
  return total;
}

/** Builds the MP floating pointer + configuration table as bytes to place at `base`. */
export function buildMpTable(options: MpTableOptions = {}): Uint8Array {
  const cpus = options.cpus ?? 1;
  const routes = options.pciRoutes ?? [];
  const base = options.base ?? LAYOUT.MPTABLE_START;
  const total = checkTable(cpus, routes, base);
  const configAt = MP.FLOATING_SIZE;
  const w = new EntryWriter(total, configAt + MP.CONFIG_HEADER_SIZE);
  const { out, dv } = w;
  const ioapicId = cpus;

  // Floating pointer (MPS 4.1).
  w.ascii(0, MP.FLOATING_SIGNATURE, 4);
  dv.setUint32(4, base + configAt, true); // physical address of the configuration table
  out[8] = 1; // length in 16-byte paragraphs
  out[9] = MP.SPEC_REV;
  // out[10] checksum; features 1-5 stay 0: table present, no IMCR (virtual wire mode).

  for (let id = 0; id < cpus; id++) w.processor(id, id === 0);
  w.bus(MP_BUS_ID.PCI, 'PCI');
  w.bus(MP_BUS_ID.ISA, 'ISA');
  w.entry8(MP_ENTRY.IOAPIC, ioapicId, IOAPIC_VERSION, MP_IOAPIC_ENABLED, LAYOUT.IOAPIC_START);
  // ISA IRQ n -> I/O APIC pin n (KVM's default GSI routing is the identity).
  for (let irq = 0; irq < ISA_IRQS; irq++) w.ioint(ioapicId, MP_IRQ_FLAGS.CONFORMING, MP_BUS_ID.ISA, irq, irq);
  // PCI source irq encodes (device << 2) | pin (MPS appendix D.3).
  for (const r of routes) w.ioint(ioapicId, MP_IRQ_FLAGS.PCI_LEVEL_LOW, MP_BUS_ID.PCI, (r.device << 2) | r.pin, r.ioapicPin);
  // Local interrupts: ExtINT (the 8259) on LINT0 of the BSP, NMI on LINT1 of every CPU.
  w.entry8(MP_ENTRY.LINTSRC, MP_INT_TYPE.EXTINT, 0, 0, MP_BUS_ID.ISA | (0 << 8) | (0 << 16) | (0 << 24));
  w.entry8(MP_ENTRY.LINTSRC, MP_INT_TYPE.NMI, 0, 0, MP_BUS_ID.ISA | (0 << 8) | (MP_ALL_APICS << 16) | (1 << 24));

  // Configuration table header (MPS 4.2).
  w.ascii(configAt, MP.CONFIG_SIGNATURE, 4);
  dv.setUint16(configAt + 4, total - configAt, true); // base table length
  out[configAt + 6] = MP.SPEC_REV;
  w.ascii(configAt + 8, MP.OEM_ID, 8);
  w.ascii(configAt + 16, MP.PRODUCT_ID, 12);
  dv.setUint16(configAt + 34, w.count, true);
  dv.setUint32(configAt + 36, LAYOUT.LAPIC_START, true);
  // OEM table, extended table: none (zero pointer, length and checksum).
  out[configAt + 7] = (0x100 - byteSum(out.subarray(configAt))) & 0xff;
  out[10] = (0x100 - byteSum(out.subarray(0, MP.FLOATING_SIZE))) & 0xff;
  return out;
}

/** Builds the table and writes it into guest RAM at options.base (default the EBDA). */
export function writeMpTable(mem: GuestMemory, options: MpTableOptions = {}): void {
  mem.write(options.base ?? LAYOUT.MPTABLE_START, buildMpTable(options));
}
