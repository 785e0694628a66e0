// MSI-X: the capability, the vector table and the pending-bit array (PBA).
// Source: PCI Local Bus Specification 3.0, section 6.8.2 (MSI-X capability
// and table structures); Linux include/uapi/linux/pci_regs.h.
//
// Seams:
// - Runs on the vCPU thread: the capability is reached through config space,
//   the table and PBA through a BAR (the owner forwards BAR accesses to
//   readTable/writeTable/readPba at the offsets it chose).
// - `onChange(vector, route)` fires when a vector's effective message changes:
//   its address/data, its mask bit, the function mask or the enable bit. The
//   host turns that into a KVM GSI route + irqfd (masked: detach the irqfd;
//   KVM injects on re-attach if the eventfd fired meanwhile, so pending
//   interrupts survive a mask/unmask).
// - `signal(vector)` is the software delivery path (tests, or a host without
//   irqfd): it returns true to deliver now, or latches the pending bit while
//   masked; unmasking a pending vector calls `onDeliver(vector)`.
import type { PciConfigSpace } from './config_space.js';
import { PCI_CAP_ID } from './constants.js';
import { TsvmmError } from '../base/errors.js';

/** Layout constants (PCI 3.0 6.8.2). */
export const MSIX = {
  /** Capability bytes after the 2-byte header: control(2) + table(4) + PBA(4). */
  CAP_BODY_LENGTH: 10,
  CONTROL_OFFSET: 2,
  CONTROL_TABLE_SIZE_MASK: 0x07ff,
  CONTROL_FUNCTION_MASK: 1 << 14,
  CONTROL_ENABLE: 1 << 15,
  BIR_MASK: 0x7,
  ENTRY_SIZE: 16,
  ENTRY_ADDR_LO: 0,
  ENTRY_ADDR_HI: 4,
  ENTRY_DATA: 8,
  ENTRY_CONTROL: 12,
  ENTRY_CONTROL_MASKED: 1,
  MAX_VECTORS: 2048,
} as const;

export interface MsixRoute {
  /** 64-bit message address as a number. */
  readonly address: number;
  readonly data: number;
  /** Effective mask: vector masked, function masked, or MSI-X disabled. */
  readonly masked: boolean;
}

export interface MsixLayout {
  readonly tableBar: number;
  /** Offset of the table in its BAR (8-byte aligned). */
  readonly tableOffset: number;
  readonly pbaBar: number;
  readonly pbaOffset: number;
}

export class MsixError extends TsvmmError {}

export class Msix {
  private readonly table: Uint32Array;
  private readonly pending: Uint8Array;
  private config: PciConfigSpace | undefined;
  private capOffset = 0;
  private enabledBit = false;
  private functionMaskBit = false;
  onChange: ((vector: number, route: MsixRoute) => void) | undefined;
  onDeliver: ((vector: number) => void) | undefined;

  constructor(
    readonly vectors: number,
    readonly layout: MsixLayout,
  ) {
    if (!Number.isInteger(vectors) || vectors < 1 || vectors > MSIX.MAX_VECTORS) throw new MsixError(`MSI-X vector count ${vectors} out of range 1..${MSIX.MAX_VECTORS}`);
    if (layout.tableOffset % 8 !== 0 || layout.pbaOffset % 8 !== 0) throw new MsixError('MSI-X table and PBA offsets must be 8-byte aligned');
    this.table = new Uint32Array(vectors * 4);
    this.pending = new Uint8Array(vectors);
    this.reset();
  }

  /** Bytes the table occupies in its BAR. */
  get tableSize(): number {
    return this.vectors * MSIX.ENTRY_SIZE;
  }
  /** Bytes the PBA occupies in its BAR (whole qwords). */
  get pbaSize(): number {
    return Math.ceil(this.vectors / 64) * 8;
  }

  /** Adds the MSI-X capability to `config`; returns its offset. */
  attach(config: PciConfigSpace): number {
    const body = new Uint8Array(MSIX.CAP_BODY_LENGTH);
    const view = new DataView(body.buffer);
    view.setUint16(0, this.vectors - 1, true);
    view.setUint32(2, (this.layout.tableOffset | this.layout.tableBar) >>> 0, true);
    view.setUint32(6, (this.layout.pbaOffset | this.layout.pbaBar) >>> 0, true);
    const writeMask = new Uint8Array(2 + MSIX.CAP_BODY_LENGTH);
    writeMask[MSIX.CONTROL_OFFSET + 1] = (MSIX.CONTROL_ENABLE | MSIX.CONTROL_FUNCTION_MASK) >>> 8;
    this.config = config;
    this.capOffset = config.addCapability(PCI_CAP_ID.MSIX, body, { writeMask, afterWrite: () => this.controlWritten() });
    return this.capOffset;
  }

  get enabled(): boolean {
    return this.enabledBit;
  }
  get functionMasked(): boolean {
    return this.functionMaskBit;
  }

  /** Back to the power-on state: disabled, every vector masked, nothing pending. */
  reset(): void {
    this.table.fill(0);
    for (let v = 0; v < this.vectors; v++) this.table[v * 4 + 3] = MSIX.ENTRY_CONTROL_MASKED;
    this.pending.fill(0);
    this.enabledBit = false;
    this.functionMaskBit = false;
    if (this.config !== undefined) this.config.set16(this.capOffset + MSIX.CONTROL_OFFSET, this.vectors - 1);
  }

  isMasked(vector: number): boolean {
    return !this.enabledBit || this.functionMaskBit || (this.table[vector * 4 + 3]! & MSIX.ENTRY_CONTROL_MASKED) !== 0;
  }

  route(vector: number): MsixRoute {
    const base = vector * 4;
    return {
      address: this.table[base + 1]! * 0x1_0000_0000 + this.table[base]!,
      data: this.table[base + 2]!,
      masked: this.isMasked(vector),
    };
  }

  /** Software delivery: true = deliver now; false = masked (pending latched) or no such vector. */
  signal(vector: number): boolean {
    if (!Number.isInteger(vector) || vector < 0 || vector >= this.vectors) return false;
    if (this.isMasked(vector)) {
      this.pending[vector] = 1;
      return false;
    }
    return true;
  }

  isPending(vector: number): boolean {
    return this.pending[vector] === 1;
  }

  readTable(offset: number, size: number): number {
    if (!inRange(offset, size, this.tableSize)) return 0;
    return extract(this.table[offset >>> 2]!, offset & 3, size);
  }

  writeTable(offset: number, size: number, value: number): void {
    if (!inRange(offset, size, this.tableSize)) return;
    const vector = Math.floor(offset / MSIX.ENTRY_SIZE);
    const wasMasked = this.isMasked(vector);
    const before = this.entryKey(vector);
    const word = offset >>> 2;
    this.table[word] = insert(this.table[word]!, offset & 3, size, value);
    // Only bit 0 of vector control is defined; the rest reads as zero.
    this.table[vector * 4 + 3]! &= MSIX.ENTRY_CONTROL_MASKED;
    if (this.entryKey(vector) !== before) this.changed(vector, wasMasked);
  }

  readPba(offset: number, size: number): number {
    if (!inRange(offset, size, this.pbaSize)) return 0;
    let value = 0;
    for (let i = size * 8 - 1; i >= 0; i--) {
      const v = offset * 8 + i;
      value = value * 2 + (v < this.vectors ? this.pending[v]! : 0);
    }
    return value;
  }

  /** The PBA is read-only (PCI 3.0 6.8.2.10). */
  writePba(_offset: number, _size: number, _value: number): void {}

  private entryKey(vector: number): string {
    const b = vector * 4;
    return `${this.table[b]},${this.table[b + 1]},${this.table[b + 2]},${this.table[b + 3]}`;
  }

  private controlWritten(): void {
    const config = this.config;
    if (config === undefined) return;
    const control = config.get16(this.capOffset + MSIX.CONTROL_OFFSET);
    const enabled = (control & MSIX.CONTROL_ENABLE) !== 0;
    const fmask = (control & MSIX.CONTROL_FUNCTION_MASK) !== 0;
    if (enabled === this.enabledBit && fmask === this.functionMaskBit) return;
    const wasMasked: boolean[] = [];
    for (let v = 0; v < this.vectors; v++) wasMasked.push(this.isMasked(v));
    this.enabledBit = enabled;
    this.functionMaskBit = fmask;
    for (let v = 0; v < this.vectors; v++) this.changed(v, wasMasked[v]!);
  }

  private changed(vector: number, wasMasked: boolean): void {
    this.onChange?.(vector, this.route(vector));
    if (wasMasked && !this.isMasked(vector) && this.pending[vector] === 1) {
      this.pending[vector] = 0;
      this.onDeliver?.(vector);
    }
  }
}

function inRange(offset: number, size: number, limit: number): boolean {
  return (size === 1 || size === 2 || size === 4) && Number.isInteger(offset) && offset >= 0 && offset + size <= limit && (offset & 3) + size <= 4;
}

function extract(word: number, byte: number, size: number): number {
  const shifted = word >>> (byte * 8);
  return size === 4 ? shifted >>> 0 : shifted & ((1 << (size * 8)) - 1);
}

function insert(word: number, byte: number, size: number, value: number): number {
  if (size === 4) return value >>> 0;
  const mask = ((1 << (size * 8)) - 1) << (byte * 8);
  return ((word & ~mask) | ((value << (byte * 8)) & mask)) >>> 0;
}
