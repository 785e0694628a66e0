// Address-range buses for port I/O and MMIO exits.
//
// A device registers a range and then sees offsets within it, never absolute
// addresses (as in kvm-host's bus.c), so the same device model works wherever
// it is placed (a PCI BAR moves when the guest reprograms it). Accesses are 1,
// 2 or 4 bytes; the caller splits 8-byte MMIO accesses into two 4-byte ones.
import { TsvmmError } from '../base/errors.js';

export interface BusDevice {
  /** Returns the value read at `offset` (zero-extended, `size` bytes). */
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
}

/** What a vCPU's exit loop dispatches to: a Bus, or a proxy for one on another thread. */
export interface AccessBus {
  /** Reads `size` (1, 2 or 4) bytes at `addr`; unclaimed addresses read as all ones. */
  read(addr: number, size: number): number;
  /** Writes `size` bytes at `addr`; returns whether a device took it. */
  write(addr: number, size: number, value: number): boolean;
}

export class BusConflictError extends TsvmmError {}

interface Range {
  base: number;
  end: number; // exclusive
  device: BusDevice;
}

export class Bus implements AccessBus {
  // Sorted by base, non-overlapping. Buses hold a handful of ranges, so a
  // linear scan with a one-entry cache beats anything cleverer.
  private ranges: Range[] = [];
  private last: Range | undefined;

  constructor(readonly name: string) {}

  register(base: number, length: number, device: BusDevice): void {
    if (!Number.isSafeInteger(base) || !Number.isSafeInteger(length) || base < 0 || length <= 0) {
      throw new RangeError(`${this.name} bus: bad range 0x${base.toString(16)}+${length}`);
    }
    const end = base + length;
    for (const r of this.ranges) {
      if (base < r.end && r.base < end) {
        throw new BusConflictError(
          `${this.name} bus: 0x${base.toString(16)}-0x${(end - 1).toString(16)} overlaps 0x${r.base.toString(16)}-0x${(r.end - 1).toString(16)}`,
        );
      }
    }
    this.ranges.push({ base, end, device });
    this.ranges.sort((a, b) => a.base - b.base);
  }

  /** Removes the range starting at `base` registered for `device`. */
  unregister(base: number, device: BusDevice): boolean {
    const i = this.ranges.findIndex((r) => r.base === base && r.device === device);
    if (i < 0) return false;
    this.ranges.splice(i, 1);
    this.last = undefined;
    return true;
  }

  private lookup(addr: number): Range | undefined {
    const last = this.last;
    if (last !== undefined && addr >= last.base && addr < last.end) return last;
    for (const r of this.ranges) {
      if (addr >= r.base && addr < r.end) {
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  /** Reads `size` bytes at `addr`; unclaimed addresses read as all ones. */
  read(addr: number, size: number): number {
    const r = this.lookup(addr);
    if (r === undefined) return size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    return r.device.read(addr - r.base, size);
  }

  /** Writes `size` bytes at `addr`; writes to unclaimed addresses are dropped. Returns whether a device took it. */
  write(addr: number, size: number, value: number): boolean {
    const r = this.lookup(addr);
    if (r === undefined) return false;
    r.device.write(addr - r.base, size, value);
    return true;
  }

  /** A registered range overlapping [base, base + length), or undefined when the whole span is free. */
  overlapping(base: number, length: number): { readonly base: number; readonly end: number } | undefined {
    const end = base + length;
    for (const r of this.ranges) if (base < r.end && r.base < end) return { base: r.base, end: r.end };
    return undefined;
  }

  /** True when some device claims `addr`. */
  claims(addr: number): boolean {
    return this.lookup(addr) !== undefined;
  }
}
