// The receive chains virtio-net RX holds between frames (rx.ts): popped from
// the ring in order, kept in a fixed ring of `size` chain objects, returned
// from the front. Nothing is allocated after construction.
import type { GuestMemory } from '../../../memory/guest_memory.js';
import { DescriptorChain } from '../queue.js';
import { RX_RETAINED_SEGMENTS } from './rx_limits.js';

export class HeldChains {
  /** Held chains: pool[(head + i) % pool.length] for i < count, in pop order. */
  private readonly pool: DescriptorChain[] = [];
  private head = 0;
  /** Chains held. */
  count = 0;
  /** Their writable bytes and buffers. */
  bytes = 0;
  segments = 0;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.pool.push(new DescriptorChain(RX_RETAINED_SEGMENTS));
  }

  /** Chains the pool has room for. */
  get capacity(): number {
    return this.pool.length;
  }

  /** Buffer slots the held and idle chains keep. */
  get retainedSegments(): number {
    let n = 0;
    for (const chain of this.pool) n += chain.retainedSegments;
    return n;
  }

  /** Held chain i (i === count: the free object the next pop fills). */
  at(i: number): DescriptorChain {
    return this.pool[(this.head + i) % this.pool.length]!;
  }

  /** Holds the chain just popped into at(count). */
  keep(): void {
    const chain = this.at(this.count);
    this.count++;
    this.bytes += chain.writableLength;
    this.segments += chain.writableCount;
  }

  /** Exchanges held chains i and j. */
  swap(i: number, j: number): void {
    if (i === j) return;
    const a = (this.head + i) % this.pool.length;
    const b = (this.head + j) % this.pool.length;
    const chain = this.pool[a]!;
    this.pool[a] = this.pool[b]!;
    this.pool[b] = chain;
  }

  /**
   * Copies frame bytes [from, to) out of `spill` (which holds the frame from
   * byte `spillStart` on) into the held chains' buffers at the same stream
   * positions (the chains' writable bytes, in order, are the frame's).
   * Returns the position reached: `to`, or the end of the held bytes.
   */
  copyIn(mem: GuestMemory, spill: Uint8Array, spillStart: number, from: number, to: number): number {
    let done = from;
    let skip = from;
    for (let c = 0; c < this.count && done < to; c++) {
      const chain = this.at(c);
      if (skip >= chain.writableLength) {
        skip -= chain.writableLength;
        continue;
      }
      for (let i = chain.readableCount; i < chain.count && done < to; i++) {
        const len = chain.len(i);
        if (skip >= len) {
          skip -= len;
          continue;
        }
        const n = Math.min(len - skip, to - done);
        mem.slice(chain.gpa(i) + skip, n).set(spill.subarray(done - spillStart, done - spillStart + n));
        done += n;
        skip = 0;
      }
    }
    return done;
  }

  /** Lets go of the first `n` held chains (already returned to the driver). */
  release(n: number): void {
    for (let c = 0; c < n; c++) {
      const chain = this.at(c);
      this.bytes -= chain.writableLength;
      this.segments -= chain.writableCount;
      chain.clear(); // an idle chain keeps at most RX_RETAINED_SEGMENTS slots
    }
    this.head = (this.head + n) % this.pool.length;
    this.count -= n;
  }
}
