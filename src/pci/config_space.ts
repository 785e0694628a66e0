// One PCI function's configuration space: a type 0 header, BARs, and a
// capability list. This is only the register model; how the guest reaches it
// (mechanism #1 at 0xCF8/0xCFC, or an ECAM window) is config_io.ts / ecam.ts.
//
// Seams:
// - Runs on the vCPU thread (config accesses are PIO/MMIO exits).
// - Every byte has a write mask (and the status register a write-one-to-clear
//   mask), so read-only fields, BAR flag bits and BAR size masks survive any
//   guest write. BAR sizing (write all ones, read the mask, restore) therefore
//   needs no special mode: a BAR's low "size" bits are simply read-only zeros.
// - `onBarChange(index, gpa | null)` fires whenever the address a BAR decodes
//   changes: the guest moved it, or toggled I/O / memory space in COMMAND.
//   `null` means "not decoded" (decode disabled, address 0, or an address
//   above 2^52, which only happens transiently while sizing a 64-bit BAR with
//   decode left on). The host unmaps the old range and maps the new one.
// - Capabilities own a byte range; they may make some of their bytes writable
//   and get `beforeRead` / `afterWrite` hooks (MSI-X control, virtio PCI_CFG).
import {
  PCI_BAR,
  PCI_BAR_COUNT,
  PCI_CAP_START,
  PCI_COMMAND,
  PCI_CONFIG_SIZE,
  PCI_HEADER_TYPE_NORMAL,
  PCI_REG,
  PCI_STATUS,
  PCIE_CONFIG_SIZE,
} from './constants.js';
import { TsvmmError } from '../base/errors.js';

export type BarKind = 'mem32' | 'mem64' | 'io';

export interface BarSpec {
  /** Size in bytes: a power of two, at least 16 for memory and 4 for I/O. */
  readonly size: number;
  readonly kind: BarKind;
  readonly prefetchable?: boolean;
}

export interface PciIds {
  readonly vendorId: number;
  readonly deviceId: number;
  /** 24-bit class code: class << 16 | subclass << 8 | prog-if. */
  readonly classCode: number;
  readonly revision?: number;
  readonly subsystemVendorId?: number;
  readonly subsystemId?: number;
  /** 0 = no INTx pin, 1..4 = INTA..INTD. */
  readonly interruptPin?: number;
}

export interface CapabilityHooks {
  /** Bytes (relative to the capability start) the guest may change. Default: none. */
  readonly writeMask?: Uint8Array;
  /** Called before a read that overlaps the capability, so it can refresh its bytes. */
  beforeRead?(offset: number, size: number): void;
  /** Called after a write that overlaps the capability (bytes already stored). */
  afterWrite?(offset: number, size: number): void;
}

export type BarListener = (index: number, address: number | null) => void;

export class PciConfigError extends TsvmmError {}

interface Bar {
  readonly size: number;
  readonly kind: BarKind;
  decoded: number | null;
}

interface Capability {
  readonly offset: number;
  readonly end: number;
  readonly hooks: CapabilityHooks;
}

/** Addresses at or above this are treated as not decoded (see header). */
const MAX_DECODED_ADDRESS = 2 ** 52;
const TWO_32 = 0x1_0000_0000;

function isPowerOfTwo(n: number): boolean {
  if (!Number.isSafeInteger(n) || n <= 0) return false;
  while (n % 2 === 0) n /= 2; // no 32-bit bit tricks: 64-bit BARs exceed 2^31
  return n === 1;
}

export class PciConfigSpace {
  private readonly bytes = new Uint8Array(PCIE_CONFIG_SIZE);
  private readonly writeMask = new Uint8Array(PCIE_CONFIG_SIZE);
  private readonly w1cMask = new Uint8Array(PCIE_CONFIG_SIZE);
  private readonly bars: Array<Bar | undefined> = new Array<Bar | undefined>(PCI_BAR_COUNT).fill(undefined);
  /** BAR registers in use (a 64-bit BAR takes two). */
  private readonly taken: boolean[] = new Array<boolean>(PCI_BAR_COUNT).fill(false);
  private readonly caps: Capability[] = [];
  private nextCap: number = PCI_CAP_START;
  private lastCapOffset = 0;
  onBarChange: BarListener | undefined;

  constructor(ids: PciIds) {
    this.set16(PCI_REG.VENDOR_ID, ids.vendorId);
    this.set16(PCI_REG.DEVICE_ID, ids.deviceId);
    this.bytes[PCI_REG.REVISION] = ids.revision ?? 0;
    this.bytes[PCI_REG.PROG_IF] = ids.classCode & 0xff;
    this.bytes[PCI_REG.SUBCLASS] = (ids.classCode >>> 8) & 0xff;
    this.bytes[PCI_REG.CLASS] = (ids.classCode >>> 16) & 0xff;
    this.bytes[PCI_REG.HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
    this.set16(PCI_REG.SUBSYSTEM_VENDOR_ID, ids.subsystemVendorId ?? 0);
    this.set16(PCI_REG.SUBSYSTEM_ID, ids.subsystemId ?? 0);
    this.bytes[PCI_REG.INTERRUPT_PIN] = ids.interruptPin ?? 0;
    const command = PCI_COMMAND.IO | PCI_COMMAND.MEMORY | PCI_COMMAND.BUS_MASTER | PCI_COMMAND.PARITY | PCI_COMMAND.SERR | PCI_COMMAND.INTX_DISABLE;
    this.setMask16(PCI_REG.COMMAND, command);
    this.w1cMask[PCI_REG.STATUS + 1] = PCI_STATUS.W1C_MASK >>> 8;
    this.writeMask[PCI_REG.CACHE_LINE_SIZE] = 0xff;
    this.writeMask[PCI_REG.LATENCY_TIMER] = 0xff;
    this.writeMask[PCI_REG.INTERRUPT_LINE] = 0xff;
  }

  // ---- BARs ----

  /** Declares BAR `index` (a 64-bit BAR also takes index + 1). */
  addBar(index: number, spec: BarSpec): void {
    const wide = spec.kind === 'mem64';
    const min = spec.kind === 'io' ? 4 : 16;
    if (!Number.isInteger(index) || index < 0 || index + (wide ? 1 : 0) >= PCI_BAR_COUNT) throw new PciConfigError(`BAR index ${index} out of range`);
    if (this.taken[index] === true || (wide && this.taken[index + 1] === true)) throw new PciConfigError(`BAR ${index} already defined`);
    if (!isPowerOfTwo(spec.size) || spec.size < min) throw new PciConfigError(`BAR ${index} size ${spec.size} is not a power of two >= ${min}`);
    if (spec.kind !== 'mem64' && spec.size > TWO_32 / 2) throw new PciConfigError(`BAR ${index} size ${spec.size} too large for a 32-bit BAR`);
    const reg = PCI_REG.BAR0 + 4 * index;
    let flags: number;
    if (spec.kind === 'io') flags = PCI_BAR.IO_SPACE;
    else flags = (wide ? PCI_BAR.MEM_TYPE_64 : 0) | (spec.prefetchable === true ? PCI_BAR.MEM_PREFETCH : 0);
    this.set32(reg, flags);
    // Low dword: address bits above the size are writable; flag bits and size bits are not.
    const flagMask = spec.kind === 'io' ? PCI_BAR.IO_FLAGS_MASK : PCI_BAR.MEM_FLAGS_MASK;
    const lowMask = spec.size >= TWO_32 ? 0 : (~(spec.size - 1) & ~flagMask) >>> 0;
    this.setMask32(reg, lowMask);
    this.bars[index] = { size: spec.size, kind: spec.kind, decoded: null };
    this.taken[index] = true;
    if (wide) {
      this.taken[index + 1] = true;
      const highMask = spec.size > TWO_32 ? ~(spec.size / TWO_32 - 1) >>> 0 : 0xffffffff;
      this.setMask32(reg + 4, highMask);
    }
  }

  /** Programs a BAR's address (the VMM pre-assigning it, like firmware would). */
  setBarAddress(index: number, address: number): void {
    const bar = this.bars[index];
    if (bar === undefined) throw new PciConfigError(`BAR ${index} is not defined`);
    if (address % bar.size !== 0) throw new PciConfigError(`BAR ${index} address 0x${address.toString(16)} not aligned to its size`);
    const reg = PCI_REG.BAR0 + 4 * index;
    this.write(reg, 4, address % TWO_32);
    if (bar.kind === 'mem64') this.write(reg + 4, 4, Math.floor(address / TWO_32));
  }

  /** The address BAR `index` decodes at, or null when it does not decode. */
  barAddress(index: number): number | null {
    return this.bars[index]?.decoded ?? null;
  }

  barSize(index: number): number {
    return this.bars[index]?.size ?? 0;
  }

  private programmedAddress(index: number, bar: Bar): number {
    const reg = PCI_REG.BAR0 + 4 * index;
    const low = this.get32(reg);
    if (bar.kind === 'io') return (low & ~PCI_BAR.IO_FLAGS_MASK) >>> 0;
    const base = (low & ~PCI_BAR.MEM_FLAGS_MASK) >>> 0;
    return bar.kind === 'mem64' ? this.get32(reg + 4) * TWO_32 + base : base;
  }

  private refreshBars(): void {
    const command = this.command;
    for (let i = 0; i < PCI_BAR_COUNT; i++) {
      const bar = this.bars[i];
      if (bar === undefined) continue;
      const enabled = (command & (bar.kind === 'io' ? PCI_COMMAND.IO : PCI_COMMAND.MEMORY)) !== 0;
      const address = this.programmedAddress(i, bar);
      const decoded = enabled && address !== 0 && address + bar.size <= MAX_DECODED_ADDRESS ? address : null;
      if (decoded === bar.decoded) continue;
      bar.decoded = decoded;
      this.onBarChange?.(i, decoded);
    }
  }

  // ---- capabilities ----

  /**
   * Appends a capability: `body` is everything after the 2-byte id/next
   * header. Returns the capability's offset in configuration space.
   */
  addCapability(id: number, body: Uint8Array, hooks: CapabilityHooks = {}): number {
    const length = 2 + body.length;
    const offset = this.nextCap;
    if (offset + length > PCI_CONFIG_SIZE) throw new PciConfigError(`capability 0x${id.toString(16)} does not fit in config space`);
    this.bytes[offset] = id;
    this.bytes[offset + 1] = 0;
    this.bytes.set(body, offset + 2);
    if (hooks.writeMask !== undefined) {
      if (hooks.writeMask.length > length) throw new PciConfigError(`capability 0x${id.toString(16)} write mask longer than the capability`);
      // The id/next header always stays read-only.
      for (let i = 2; i < hooks.writeMask.length; i++) this.writeMask[offset + i] = hooks.writeMask[i]!;
    }
    if (this.lastCapOffset === 0) {
      this.bytes[PCI_REG.CAPABILITIES] = offset;
      this.set16(PCI_REG.STATUS, this.get16(PCI_REG.STATUS) | PCI_STATUS.CAP_LIST);
    } else {
      this.bytes[this.lastCapOffset + 1] = offset;
    }
    this.lastCapOffset = offset;
    this.nextCap = (offset + length + 3) & ~3; // keep capabilities dword-aligned
    this.caps.push({ offset, end: offset + length, hooks });
    return offset;
  }

  // ---- register access ----

  get command(): number {
    return this.get16(PCI_REG.COMMAND);
  }

  /** Reflects the INTx line level in STATUS bit 3 (PCI 3.0 6.2.3). */
  setInterruptStatus(pending: boolean): void {
    const status = this.get16(PCI_REG.STATUS);
    this.set16(PCI_REG.STATUS, pending ? status | PCI_STATUS.INTERRUPT : status & ~PCI_STATUS.INTERRUPT);
  }

  /** Reads `size` (1, 2 or 4) bytes at `reg`; out-of-range reads return all ones. */
  read(reg: number, size: number): number {
    if (!validAccess(reg, size)) return size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    for (const cap of this.caps) {
      if (cap.hooks.beforeRead !== undefined && reg < cap.end && reg + size > cap.offset) cap.hooks.beforeRead(reg - cap.offset, size);
    }
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = value * 256 + this.bytes[reg + i]!;
    return value;
  }

  /** Writes `size` bytes, honouring read-only and write-one-to-clear bits. */
  write(reg: number, size: number, value: number): void {
    if (!validAccess(reg, size)) return;
    for (let i = 0; i < size; i++) {
      const off = reg + i;
      const b = Math.floor(value / 2 ** (8 * i)) & 0xff;
      const mask = this.writeMask[off]!;
      this.bytes[off] = ((this.bytes[off]! & ~mask) | (b & mask)) & ~(b & this.w1cMask[off]!);
    }
    if (reg < PCI_REG.COMMAND + 2 && reg + size > PCI_REG.COMMAND) this.refreshBars();
    else if (reg < PCI_REG.BAR0 + 4 * PCI_BAR_COUNT && reg + size > PCI_REG.BAR0) this.refreshBars();
    for (const cap of this.caps) {
      if (cap.hooks.afterWrite !== undefined && reg < cap.end && reg + size > cap.offset) cap.hooks.afterWrite(reg - cap.offset, size);
    }
  }

  /** Direct access for capability owners (bypasses masks and hooks). */
  get8(off: number): number {
    return this.bytes[off]!;
  }
  get16(off: number): number {
    return this.bytes[off]! | (this.bytes[off + 1]! << 8);
  }
  get32(off: number): number {
    return (this.get16(off) | (this.get16(off + 2) << 16)) >>> 0;
  }
  set8(off: number, v: number): void {
    this.bytes[off] = v;
  }
  set16(off: number, v: number): void {
    this.bytes[off] = v & 0xff;
    this.bytes[off + 1] = (v >>> 8) & 0xff;
  }
  set32(off: number, v: number): void {
    this.set16(off, v & 0xffff);
    this.set16(off + 2, (v >>> 16) & 0xffff);
  }

  private setMask16(off: number, mask: number): void {
    this.writeMask[off] = mask & 0xff;
    this.writeMask[off + 1] = (mask >>> 8) & 0xff;
  }
  private setMask32(off: number, mask: number): void {
    this.setMask16(off, mask & 0xffff);
    this.setMask16(off + 2, (mask >>> 16) & 0xffff);
  }
}

function validAccess(reg: number, size: number): boolean {
  return (size === 1 || size === 2 || size === 4) && Number.isInteger(reg) && reg >= 0 && reg + size <= PCIE_CONFIG_SIZE;
}
