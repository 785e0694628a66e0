// Where the guest's PCI memory BARs decode. The guest may program a BAR at
// any address; a real host bridge then decodes it wherever it lands, and an
// overlap with RAM or another device is the guest's own undefined behaviour,
// never the machine's end. Here a BAR that would overlap anything else the
// guest reaches at physical addresses (guest RAM, a range the architecture
// reserves: its in-kernel interrupt controllers, KVM's private pages; or
// anything on the MMIO bus: the console UART, ECAM, another BAR) is simply
// not decoded: no MMIO range, no ioeventfds. It is decoded again, without the
// guest doing anything else, as soon as it is free: when the guest moves it
// somewhere free, or moves away whatever was in its way.
//
// Runs on the thread that owns the MMIO bus (the vCPU thread); BARs call
// place() from their configuration-space writes.
import type { Bus } from '../bus/bus.js';
import { hex } from '../base/format.js';

/** A guest-physical range [start, end) something else owns, named for log lines. */
export interface AddressRange {
  readonly start: number;
  readonly end: number;
  readonly name: string;
}

/** One BAR as the space moves it: what it is called, its size, and how to (un)map it. */
export interface BarMapping {
  /** For log lines, e.g. "PCI slot 2 BAR 0". */
  readonly label: string;
  readonly size: number;
  /** Start decoding at `gpa` (MMIO range, ioeventfds). Throws, having undone its part, if it cannot. */
  map(gpa: number): void;
  /** Stop decoding at `gpa`. */
  unmap(gpa: number): void;
}

interface Entry {
  readonly bar: BarMapping;
  /** Where the guest programmed it (null: decoding off). */
  wanted: number | null;
  /** Where it decodes (null: nowhere). Equals `wanted` or is null. */
  decoded: number | null;
}


export class BarSpace {
  private readonly entries: Entry[] = [];

  /**
   * `fixed`: everything that is not on `mmio` but a BAR must not cover (RAM,
   * the architecture's reserved ranges). `log` gets a line when a BAR is
   * left undecoded; the guest can cause that at will, so the caller limits it.
   */
  constructor(
    private readonly mmio: Bus,
    private readonly fixed: readonly AddressRange[],
    private readonly log: (line: string) => void,
  ) {}

  /** `bar` wants to decode at `gpa` (null: not at all), as the guest just programmed it. */
  place(bar: BarMapping, gpa: number | null): void {
    let e = this.entries.find((x) => x.bar === bar);
    if (e === undefined) {
      e = { bar, wanted: null, decoded: null };
      this.entries.push(e);
    }
    const freed = e.decoded !== null;
    if (e.decoded !== null) {
      bar.unmap(e.decoded);
      e.decoded = null;
    }
    e.wanted = gpa;
    if (gpa !== null) {
      const conflict = this.conflict(gpa, bar.size);
      if (conflict === undefined) this.map(e, gpa);
      else this.log(`${bar.label} at ${hex(gpa)}-${hex(gpa + bar.size - 1)} overlaps ${conflict}: not decoded until the guest moves it`);
    }
    // A range just let go of may be what another BAR is waiting for.
    if (freed) this.retryWaiting();
  }

  /** Where `bar` decodes now, or null. */
  decodedAt(bar: BarMapping): number | null {
    return this.entries.find((x) => x.bar === bar)?.decoded ?? null;
  }

  /** What [gpa, gpa + size) overlaps, described, or undefined when it is free. */
  private conflict(gpa: number, size: number): string | undefined {
    const end = gpa + size;
    for (const r of this.fixed) if (gpa < r.end && r.start < end) return `${r.name} (${hex(r.start)}-${hex(r.end - 1)})`;
    const taken = this.mmio.overlapping(gpa, size);
    if (taken === undefined) return undefined;
    const owner = this.entries.find((x) => x.decoded === taken.base);
    return `${owner !== undefined ? owner.bar.label : 'a device'} on the MMIO bus (${hex(taken.base)}-${hex(taken.end - 1)})`;
  }

  private map(e: Entry, gpa: number): void {
    try {
      e.bar.map(gpa);
      e.decoded = gpa;
    } catch (err) {
      this.log(`${e.bar.label} at ${hex(gpa)}: cannot decode it: ${(err as Error).message}`);
    }
  }

  private retryWaiting(): void {
    for (const e of this.entries) {
      if (e.wanted !== null && e.decoded === null && this.conflict(e.wanted, e.bar.size) === undefined) this.map(e, e.wanted);
    }
  }
}
