// An iovec table for the addon's vectored I/O (native readvEach, writevEach,
// preadvEach, pwritevEach): a batch of entries (frames, requests), each a
// run of segments, laid out as the addon reads them. The device workers fill
// one from descriptor chains and hand it to the kernel in one crossing, with
// nothing allocated per frame or request.
//
// Segments are guest buffers, whose host addresses come from
// GuestMemory.hostAddress (checked against guest RAM there), or host buffers
// the caller owns (an RX spill area, a bounce buffer). Beside the host
// addresses the table keeps each segment's guest address (or its host view):
// what fakes in tests and the slow paths read through `views()`.
import type { GuestMemory } from './guest_memory.js';
import { native } from '../native/addon.js';
import { IOV_MAX } from '../base/limits.js';

/** A host buffer the table may point at (its address taken once). */
export class HostBuffer {
  readonly host: number;
  constructor(readonly bytes: Uint8Array) {
    this.host = Number(native.address(bytes));
  }
}

export class IoTable {
  /** [host address, length] pairs: entry 0's segments, then entry 1's, ... */
  readonly iov: Float64Array;
  /** Segments per entry. */
  readonly counts: Int32Array;
  /** Per entry: bytes moved or -errno, filled by the addon (or a fake). */
  readonly results: Int32Array;
  /** Per entry: the file position (preadv, pwritev). */
  readonly positions: Float64Array;
  /** Entries and segments in the table. */
  entries = 0;
  segments = 0;
  /** Per segment: its guest address, or -1 for a host buffer (then `hosts` holds it). */
  private readonly gpas: Float64Array;
  private readonly hosts: Array<HostBuffer | null>;
  private readonly starts: Int32Array;

  constructor(
    private readonly mem: GuestMemory,
    /** Segments the table holds, all entries together. */
    readonly maxSegments: number,
    readonly maxEntries: number,
  ) {
    this.iov = new Float64Array(2 * maxSegments);
    this.gpas = new Float64Array(maxSegments);
    this.hosts = new Array<HostBuffer | null>(maxSegments).fill(null);
    this.counts = new Int32Array(maxEntries);
    this.results = new Int32Array(maxEntries);
    this.positions = new Float64Array(maxEntries);
    this.starts = new Int32Array(maxEntries);
  }

  reset(): void {
    this.entries = 0;
    this.segments = 0;
  }

  /** Segments still free. */
  get room(): number {
    return this.maxSegments - this.segments;
  }

  /** Starts a new entry (at file position `position` for preadv/pwritev). */
  begin(position = 0): void {
    const e = this.entries++;
    this.counts[e] = 0;
    this.positions[e] = position;
    this.starts[e] = this.segments;
  }

  /** Appends guest bytes [gpa, gpa+len) to the current entry; throws GuestMemoryError outside RAM. */
  addGuest(gpa: number, len: number): void {
    const s = this.segments++;
    this.iov[2 * s] = this.mem.hostAddress(gpa, len);
    this.iov[2 * s + 1] = len;
    this.gpas[s] = gpa;
    this.hosts[s] = null;
    this.counts[this.entries - 1]!++;
  }

  /** Appends bytes [0, len) of a host buffer to the current entry. */
  addHost(b: HostBuffer, len: number): void {
    const s = this.segments++;
    this.iov[2 * s] = b.host;
    this.iov[2 * s + 1] = Math.min(len, b.bytes.length);
    this.gpas[s] = -1;
    this.hosts[s] = b;
    this.counts[this.entries - 1]!++;
  }

  /**
   * Drops entries [0, n), moving the rest to the front (a write that stopped
   * at a full fd keeps what was not sent). No allocation.
   */
  shift(n: number): void {
    if (n <= 0) return;
    if (n >= this.entries) {
      this.reset();
      return;
    }
    const from = this.starts[n]!;
    this.iov.copyWithin(0, 2 * from, 2 * this.segments);
    this.gpas.copyWithin(0, from, this.segments);
    for (let s = from; s < this.segments; s++) this.hosts[s - from] = this.hosts[s]!;
    this.counts.copyWithin(0, n, this.entries);
    this.positions.copyWithin(0, n, this.entries);
    this.entries -= n;
    this.segments -= from;
    for (let e = 0; e < this.entries; e++) this.starts[e] = this.starts[e + n]! - from;
  }

  /** Entry `e`'s bytes. */
  bytes(e: number): number {
    let n = 0;
    const start = this.starts[e]!;
    for (let s = start; s < start + this.counts[e]!; s++) n += this.iov[2 * s + 1]!;
    return n;
  }

  /** Entry `e`'s segments as views into guest RAM or the host buffers (allocates: for fakes and slow paths). */
  views(e: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    const start = this.starts[e]!;
    for (let s = start; s < start + this.counts[e]!; s++) {
      const len = this.iov[2 * s + 1]!;
      const host = this.hosts[s];
      out.push(host === null || host === undefined ? this.mem.slice(this.gpas[s]!, len) : host.bytes.subarray(0, len));
    }
    return out;
  }
}
