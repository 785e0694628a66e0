// virtio-net receive (virtio 1.2 §5.1.6.3, §5.1.6.4): frames from the TAP
// into the driver's receive buffers. Runs on the device's worker thread.
//
// Buffers: the device pops chains ahead and holds them (a device may keep
// available buffers as long as it likes), then reads one frame with a single
// readv straight into them, followed by a spill area for what does not fit.
// - Without MRG_RXBUF a frame must fit one chain: the readv covers the first
//   held chain only, and a frame longer than that chain is dropped and
//   counted; the chain stays held for the next frame.
// - With MRG_RXBUF the readv covers every held chain (the device gathers
//   about `gather` bytes first), and a frame may take several chains: the
//   first carries the header with num_buffers = chains used (§5.1.6.4).
//   Bytes that landed in the spill are copied into further chains. When the
//   ring runs dry halfway, the frame waits here until the driver adds
//   buffers; it is dropped only if the whole ring cannot hold it.
// - The kernel writes the header but skips num_buffers; the device fills it
//   (1 without MRG_RXBUF).
// - Batches: when each held chain can take a whole frame alone (no
//   MRG_RXBUF, or chains of at least `gather` bytes), one addon call reads
//   up to RX_BATCH frames, one readv per frame into its own chain followed
//   by the spill; it stops after a frame that reached the spill, which is
//   then finished as above. Nothing is allocated per frame.
//
// Starvation contract (see queue_handler.ts): when the driver has no buffer
// left, process() stops with `starved` set and notifications enabled, having
// read nothing more from the TAP; frames wait in the TAP's queue (the kernel
// drops only what overflows it). The worker must then stop polling the TAP
// for POLLIN until the driver kicks the RX queue.
//
// Hostile driver: chains with device-readable buffers or shorter than the
// header are returned unused (length 0) and counted; the queue classes have
// already checked every address. Lengths written back never exceed a chain's
// writable length.
//
// Memory is O(queue size) whatever the chains look like: see rx_limits.ts.
import type { GuestMemory } from '../../../memory/guest_memory.js';
import { HostBuffer, IoTable } from '../../../memory/io_table.js';
import { IOV_MAX } from '../../../base/limits.js';
import { ERRNO } from '../../../native/linux.js';
import { DescriptorChainError, type DescriptorChain, type Virtqueue } from '../queue.js';
import { ETH } from './constants.js';
import type { PacketIo } from './packet_io.js';
import { writeNumBuffers } from './guest_header.js';
import { HeldChains } from './rx_held.js';
import { RX_BATCH, RX_SPILL_SIZE } from './rx_limits.js';


export { RX_BATCH, RX_RETAINED_SEGMENTS, RX_SEGMENTS_PER_QUEUE_ENTRY, RX_SPILL_SIZE } from './rx_limits.js';
export type { NetRxOptions, RxStats, RxStop } from './rx_limits.js';
import type { NetRxOptions, RxStats, RxStop } from './rx_limits.js';

export { worthLogging } from '../rate_log.js';
import { worthLogging } from '../rate_log.js';

export class NetRx {
  readonly stats: RxStats = { frames: 0, bytes: 0, dropped: 0, badChains: 0 };
  /** Why the last process() call stopped. */
  lastStop: RxStop = 'tap-empty';
  private readonly headerSize: number;
  private readonly mergeable: boolean;
  private readonly gather: number;
  private readonly log: (line: string) => void;
  /** The chains held; no chain is taken once their buffers reach `segmentBudget`. */
  private readonly held: HeldChains;
  private readonly segmentBudget: number;
  private readonly spill = new HostBuffer(new Uint8Array(RX_SPILL_SIZE));
  private readonly table: IoTable;
  /** The frame in progress: its length (0: none), bytes already in guest buffers, frame offset of spill[0]. */
  private frameLen = 0;
  private frameDone = 0;
  private spillStart = 0;
  /** Used buffers returned during the current process() call, and buffers popped. */
  private completed = 0;
  private popped = 0;
  private budget = 0;

  constructor(
    private readonly mem: GuestMemory,
    private readonly queue: Virtqueue,
    private readonly io: PacketIo,
    options: NetRxOptions,
  ) {
    this.headerSize = options.headerSize;
    this.mergeable = options.mergeable;
    this.gather = Math.max(1, options.gather ?? this.headerSize + ETH.FRAME_LEN + ETH.VLAN_HLEN);
    this.log = options.log ?? ((line) => console.error(line));
    this.segmentBudget = queue.size;
    this.held = new HeldChains(queue.size);
    this.table = new IoTable(mem, IOV_MAX + RX_BATCH, RX_BATCH);
  }

  /** Buffer slots the held and idle chains keep (at most RX_SEGMENTS_PER_QUEUE_ENTRY x queue size). */
  get retainedSegments(): number {
    return this.held.retainedSegments;
  }

  /** The driver had no buffer for us: do not read the TAP until it kicks RX. */
  get starved(): boolean {
    return this.lastStop === 'no-buffers';
  }

  /** The TAP end is gone (read returned 0). */
  get closed(): boolean {
    return this.lastStop === 'closed';
  }

  /** The last call stopped at its budget: call process() again soon (a frame in progress may wait for it). */
  get more(): boolean {
    return this.lastStop === 'budget';
  }

  /** A frame read from the TAP waits for more receive buffers (MRG_RXBUF). */
  get frameWaiting(): boolean {
    return this.frameLen !== 0;
  }

  /** Chains currently held (popped and not yet returned). */
  get heldChains(): number {
    return this.held.count;
  }

  /**
   * Moves frames from the TAP into guest buffers until the TAP is empty, the
   * driver has no buffers, or `budget` frames were read or buffers popped
   * (O(queue size) work per call; `more` then says to call again). Returns
   * the number of used buffers returned (the caller interrupts the driver if
   * > 0). Throws VirtqueueError when the ring is unusable.
   */
  process(budget: number = this.queue.size): number {
    const queue = this.queue;
    this.completed = 0;
    this.popped = 0;
    this.budget = budget;
    queue.disableNotifications();
    let frames = 0;
    for (;;) {
      if (this.frameLen !== 0) {
        if (!this.deliver()) {
          this.lastStop = this.popped >= budget ? 'budget' : 'no-buffers';
          break;
        }
        if (this.frameLen !== 0) this.complete(); // else deliver() dropped it
        continue;
      }
      if (frames === budget) {
        this.lastStop = 'budget';
        break;
      }
      if (!this.fill()) {
        this.lastStop = this.popped >= budget ? 'budget' : 'no-buffers';
        break;
      }
      const batch = this.batchable(budget - frames);
      const n = batch > 1 ? this.readBatch(batch) : this.readOne();
      if (n < 0) break;
      frames += n;
    }
    return this.completed;
  }

  /**
   * Reads one frame into the held chains (only the first without
   * MRG_RXBUF) and the spill. Returns 1 (a frame was read), or -1 when the
   * loop must stop (lastStop says why).
   */
  private readOne(): number {
    const t = this.table;
    t.reset();
    t.begin();
    const chains = this.mergeable ? this.held.count : 1;
    let direct = 0;
    outer: for (let c = 0; c < chains; c++) {
      const chain = this.held.at(c);
      for (let i = chain.readableCount; i < chain.count; i++) {
        if (t.counts[0] === IOV_MAX - 1) break outer;
        const len = chain.len(i);
        if (len === 0) continue;
        t.addGuest(chain.gpa(i), len);
        direct += len;
      }
    }
    t.addHost(this.spill, RX_SPILL_SIZE);
    this.io.readFrames(t, 1);
    const n = t.results[0]!;
    if (!this.received(n)) return -1;
    if (n <= this.headerSize) {
      this.drop(`runt frame of ${n} bytes from the TAP`);
    } else if (n >= direct + RX_SPILL_SIZE) {
      this.drop(`frame of ${n}+ bytes from the TAP is larger than the ${direct + RX_SPILL_SIZE} bytes of buffers and spill`);
    } else if (!this.mergeable && n > this.held.at(0).writableLength) {
      this.drop(`frame of ${n} bytes does not fit the ${this.held.at(0).writableLength}-byte receive buffer (no MRG_RXBUF)`);
    } else {
      this.frameLen = n;
      this.frameDone = Math.min(n, direct);
      this.spillStart = direct;
    }
    return 1;
  }

  /** False when `n` (a read's result) ends the loop: no frame waiting, or the TAP is gone. */
  private received(n: number): boolean {
    if (n === -ERRNO.EAGAIN) this.lastStop = 'tap-empty';
    else if (n <= 0) this.lastStop = 'closed';
    else return true;
    return false;
  }

  /** How many frames one batch may read: held chains that each take a whole frame alone (and fit the table), popped ahead up to `limit`. */
  private batchable(limit: number): number {
    const want = Math.min(limit, RX_BATCH);
    if (want < 2 || this.held.at(0).writableLength < this.slotBytes) return 1;
    while (this.held.count < want && this.popOne(false));
    let n = 0;
    let segments = 0;
    while (n < this.held.count && n < want) {
      const chain = this.held.at(n);
      segments += chain.writableCount + 1; // and the spill
      if (chain.writableLength < this.slotBytes || chain.writableCount >= IOV_MAX || segments > this.table.maxSegments) break;
      n++;
    }
    return n;
  }

  /** Bytes a chain needs to take a frame alone: any without MRG_RXBUF (a longer frame is dropped), else `gather`. */
  private get slotBytes(): number {
    return this.mergeable ? this.gather : 0;
  }

  /**
   * Reads up to `count` frames, frame i into held chain i then the spill.
   * Completed chains move to the front and are released; chains whose frame
   * was dropped stay held. A frame that reached the spill (the last one
   * read) becomes the frame in progress, its chain at the head. Returns the
   * frames read, or -1 when the loop must stop.
   */
  private readBatch(count: number): number {
    const t = this.table;
    t.reset();
    for (let c = 0; c < count; c++) {
      const chain = this.held.at(c);
      t.begin();
      for (let i = chain.readableCount; i < chain.count; i++) if (chain.len(i) !== 0) t.addGuest(chain.gpa(i), chain.len(i));
      t.addHost(this.spill, RX_SPILL_SIZE);
    }
    const got = this.io.readFrames(t, count);
    let done = 0;
    let frames = 0;
    let stop = false;
    let spilled = -1;
    for (let j = 0; j < got; j++) {
      const n = t.results[j]!;
      if (!this.received(n)) {
        stop = true;
        break;
      }
      frames++;
      const chain = this.held.at(j);
      const room = chain.writableLength;
      if (n <= this.headerSize) {
        this.drop(`runt frame of ${n} bytes from the TAP`);
      } else if (n >= room + RX_SPILL_SIZE) {
        this.drop(`frame of ${n}+ bytes from the TAP is larger than the ${room + RX_SPILL_SIZE} bytes of buffers and spill`);
      } else if (n <= room) {
        writeNumBuffers(this.mem, chain, this.headerSize, 1);
        this.queue.addUsed(chain, n);
        this.stats.frames++;
        this.stats.bytes += n - this.headerSize;
        this.held.swap(j, done++);
      } else if (!this.mergeable) {
        this.drop(`frame of ${n} bytes does not fit the ${room}-byte receive buffer (no MRG_RXBUF)`);
      } else {
        spilled = j;
        this.frameLen = n;
        this.frameDone = room;
        this.spillStart = room;
      }
    }
    if (spilled >= 0) this.held.swap(spilled, done);
    this.held.release(done);
    this.completed += done;
    return stop ? -1 : frames;
  }

  /** Holds at least one chain (with MRG_RXBUF, about `gather` bytes). False: the driver has none. */
  private fill(): boolean {
    if (this.held.count === 0 && !this.popOne(true)) return false;
    if (this.mergeable) {
      while (this.held.bytes < this.gather && this.held.count < this.held.capacity && this.popOne(false));
    }
    return true;
  }

  /**
   * Pops the next usable chain into the pool. With `mustHave`, an empty
   * ring turns driver notifications on (and re-checks, §2.7.10), so a kick
   * follows when buffers arrive.
   */
  private popOne(mustHave: boolean): boolean {
    const queue = this.queue;
    while (this.held.count < this.held.capacity && this.held.segments < this.segmentBudget) {
      const chain = this.held.at(this.held.count);
      // Every chain popped counts against this call's budget, good or bad.
      if (this.popped >= this.budget) return false;
      try {
        if (!queue.pop(chain)) {
          if (!mustHave || !queue.enableNotifications()) return false;
          queue.disableNotifications();
          continue;
        }
      } catch (err) {
        if (!(err instanceof DescriptorChainError)) throw err;
        this.popped += chain.count + 1;
        this.badChain(chain, err.message);
        continue;
      }
      this.popped += chain.count;
      if (chain.readableCount !== 0 || chain.writableLength < this.headerSize) {
        this.badChain(chain, `receive chain ${chain.id} has ${chain.readableLength} readable and ${chain.writableLength} writable bytes (needs >= ${this.headerSize} writable only)`);
        continue;
      }
      this.held.keep();
      return true;
    }
    return false;
  }

  private badChain(chain: DescriptorChain, reason: string): void {
    this.queue.addUsed(chain, 0);
    chain.clear();
    this.completed++;
    if (worthLogging(++this.stats.badChains)) this.log(`virtio-net: rx: ${reason} (${this.stats.badChains} bad chains so far)`);
  }

  private drop(reason: string): void {
    if (worthLogging(++this.stats.dropped)) this.log(`virtio-net: rx: dropped: ${reason} (${this.stats.dropped} dropped so far)`);
  }

  /**
   * Copies the frame's bytes still in the spill into held chains, popping
   * more as needed (MRG_RXBUF only; without it the frame fits chain 0).
   * False: the driver has no buffer now (the frame waits), or the whole
   * ring cannot hold it (the frame is dropped and its chains returned).
   */
  private deliver(): boolean {
    while (this.frameDone < this.frameLen) {
      if (this.frameDone >= this.held.bytes) {
        if (this.held.count === this.held.capacity || this.held.segments >= this.segmentBudget) {
          this.abandon(`frame of ${this.frameLen} bytes is larger than the ${this.held.count} receive chains the device may hold (${this.held.bytes} bytes in ${this.held.segments} buffers)`);
          return true;
        }
        if (!this.popOne(true)) return false;
        continue;
      }
      this.frameDone = this.held.copyIn(this.mem, this.spill.bytes, this.spillStart, this.frameDone, this.frameLen);
    }
    return true;
  }

  /** Returns a fully delivered frame's chains with num_buffers filled in. */
  private complete(): void {
    const len = this.frameLen;
    let count = 0;
    let covered = 0;
    while (covered < len) covered += this.held.at(count++).writableLength;
    writeNumBuffers(this.mem, this.held.at(0), this.headerSize, count);
    let left = len;
    for (let c = 0; c < count; c++) {
      const chain = this.held.at(c);
      const used = Math.min(left, chain.writableLength);
      this.queue.addUsed(chain, used);
      left -= used;
    }
    this.held.release(count);
    this.completed += count;
    this.stats.frames++;
    this.stats.bytes += len - this.headerSize;
    this.frameLen = 0;
  }

  /** Drops the frame in progress, returning every held chain unused. */
  private abandon(reason: string): void {
    const count = this.held.count;
    for (let c = 0; c < count; c++) this.queue.addUsed(this.held.at(c), 0);
    this.held.release(count);
    this.completed += count;
    this.frameLen = 0;
    this.drop(reason);
  }
}
