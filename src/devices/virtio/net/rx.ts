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
// Memory is O(queue size) whatever the chains look like: a chain has at most
// queue-size buffers (the queues enforce it), the device takes no further
// chain once those it holds have queue-size buffers together (a frame that
// needs more is dropped), and an idle chain keeps at most
// RX_RETAINED_SEGMENTS Segment objects. So at most
// RX_SEGMENTS_PER_QUEUE_ENTRY x size objects are kept (rx_memory.test.ts).
// Linux's receive chains have one buffer (mergeable) or hold one chain at
// a time (big packets), so the limit never bites them.
import type { GuestMemory } from '../../../memory/guest_memory.js';
import { ERRNO } from '../../../native/linux.js';
import { DescriptorChain, DescriptorChainError, type Segment, type Virtqueue } from '../queue.js';
import { ETH, VIRTIO_NET_HDR } from './constants.js';
import type { PacketIo } from './packet_io.js';


/**
 * Room after the guest buffers: a 64 KiB GSO frame with its Ethernet and
 * VLAN headers and the virtio header, rounded up. A frame that fills guest
 * buffers and spill completely may have been cut short, and is dropped.
 */
export const RX_SPILL_SIZE = 65536 + 4096;

/** Segment objects an idle receive chain keeps for reuse: Linux's receive chains have 1 or 2 buffers. */
export const RX_RETAINED_SEGMENTS = 2;

/**
 * Upper bound on the Segment objects NetRx keeps, per queue entry: buffers
 * of held chains below the queue size plus one more chain (< 2 x size), and
 * RX_RETAINED_SEGMENTS for each of the `size` chain objects.
 */
export const RX_SEGMENTS_PER_QUEUE_ENTRY = 2 + RX_RETAINED_SEGMENTS;

export interface NetRxOptions {
  /** virtio_net_hdr size (12 with VERSION_1; header.ts vnetHeaderSize). */
  readonly headerSize: number;
  /** VIRTIO_NET_F_MRG_RXBUF was negotiated. */
  readonly mergeable: boolean;
  /** With MRG_RXBUF: guest buffer bytes to hold before reading a frame. Default: one full-size Ethernet frame. */
  readonly gather?: number;
  readonly log?: (line: string) => void;
}

export interface RxStats {
  /** Frames delivered to the driver. */
  frames: number;
  /** Bytes delivered, virtio header excluded. */
  bytes: number;
  /** Frames read from the TAP and not delivered. */
  dropped: number;
  /** Malformed chains returned unused. */
  badChains: number;
}

export type RxStop = 'tap-empty' | 'no-buffers' | 'closed' | 'budget';

export { worthLogging } from '../rate_log.js';
import { worthLogging } from '../rate_log.js';
import { IOV_MAX } from '../../../base/limits.js';

export class NetRx {
  readonly stats: RxStats = { frames: 0, bytes: 0, dropped: 0, badChains: 0 };
  /** Why the last process() call stopped. */
  lastStop: RxStop = 'tap-empty';
  private readonly headerSize: number;
  private readonly mergeable: boolean;
  private readonly gather: number;
  private readonly log: (line: string) => void;
  /** Held chains: pool[(head + i) % pool.length] for i < held, in pop order. */
  private readonly pool: DescriptorChain[] = [];
  private head = 0;
  private held = 0;
  private heldBytes = 0;
  /** Buffers of the held chains; no chain is taken once it reaches `segmentBudget`. */
  private heldSegments = 0;
  private readonly segmentBudget: number;
  private readonly spill = new Uint8Array(RX_SPILL_SIZE);
  private readonly iov: Uint8Array[] = [];
  private readonly numBuffers = new Uint8Array(2);
  /** The frame in progress: its length (0: none), bytes already in guest buffers, frame offset of spill[0]. */
  private frameLen = 0;
  private frameDone = 0;
  private spillStart = 0;
  /** Used buffers returned during the current process() call. */
  private completed = 0;

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
    for (let i = 0; i < queue.size; i++) this.pool.push(new DescriptorChain(RX_RETAINED_SEGMENTS));
  }

  /** Segment objects the held and idle chains keep (at most RX_SEGMENTS_PER_QUEUE_ENTRY x queue size). */
  get retainedSegments(): number {
    let n = 0;
    for (const chain of this.pool) n += chain.retainedSegments;
    return n;
  }

  /** The driver had no buffer for us: do not read the TAP until it kicks RX. */
  get starved(): boolean {
    return this.lastStop === 'no-buffers';
  }

  /** The TAP end is gone (read returned 0). */
  get closed(): boolean {
    return this.lastStop === 'closed';
  }

  /** A frame read from the TAP waits for more receive buffers (MRG_RXBUF). */
  get frameWaiting(): boolean {
    return this.frameLen !== 0;
  }

  /** Chains currently held (popped and not yet returned). */
  get heldChains(): number {
    return this.held;
  }

  /**
   * Moves frames from the TAP into guest buffers until the TAP is empty, the
   * driver has no buffers, or `budget` frames were read. Returns the number
   * of used buffers returned (the caller interrupts the driver if > 0).
   * Throws VirtqueueError when the ring is unusable.
   */
  process(budget: number = this.queue.size): number {
    const queue = this.queue;
    this.completed = 0;
    queue.disableNotifications();
    let frames = 0;
    for (;;) {
      if (this.frameLen !== 0) {
        if (!this.deliver()) {
          this.lastStop = 'no-buffers';
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
        this.lastStop = 'no-buffers';
        break;
      }
      const direct = this.buildIov();
      const total = direct + this.spill.length;
      const n = this.io.read(this.iov);
      this.iov.length = 0;
      if (n === -ERRNO.EAGAIN) {
        this.lastStop = 'tap-empty';
        break;
      }
      if (n <= 0) {
        this.lastStop = 'closed';
        break;
      }
      frames++;
      if (n <= this.headerSize) {
        this.drop(`runt frame of ${n} bytes from the TAP`);
        continue;
      }
      if (n >= total) {
        this.drop(`frame of ${n}+ bytes from the TAP is larger than the ${total} bytes of buffers and spill`);
        continue;
      }
      if (!this.mergeable && n > this.chainAt(0).writableLength) {
        this.drop(`frame of ${n} bytes does not fit the ${this.chainAt(0).writableLength}-byte receive buffer (no MRG_RXBUF)`);
        continue;
      }
      this.frameLen = n;
      this.frameDone = Math.min(n, direct);
      this.spillStart = direct;
    }
    return this.completed;
  }

  private chainAt(i: number): DescriptorChain {
    return this.pool[(this.head + i) % this.pool.length]!;
  }

  /** Holds at least one chain (with MRG_RXBUF, about `gather` bytes). False: the driver has none. */
  private fill(): boolean {
    if (this.held === 0 && !this.popOne(true)) return false;
    if (this.mergeable) {
      while (this.heldBytes < this.gather && this.held < this.pool.length && this.popOne(false));
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
    while (this.held < this.pool.length && this.heldSegments < this.segmentBudget) {
      const chain = this.chainAt(this.held);
      try {
        if (!queue.pop(chain)) {
          if (!mustHave || !queue.enableNotifications()) return false;
          queue.disableNotifications();
          continue;
        }
      } catch (err) {
        if (!(err instanceof DescriptorChainError)) throw err;
        this.badChain(chain, err.message);
        continue;
      }
      if (chain.readable.length !== 0 || chain.writableLength < this.headerSize) {
        this.badChain(chain, `receive chain ${chain.id} has ${chain.readableLength} readable and ${chain.writableLength} writable bytes (needs >= ${this.headerSize} writable only)`);
        continue;
      }
      this.held++;
      this.heldBytes += chain.writableLength;
      this.heldSegments += chain.writable.length;
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

  /** The readv vector: held chains' buffers (only the first chain without MRG_RXBUF), then the spill. Returns the guest bytes in it. */
  private buildIov(): number {
    const iov = this.iov;
    const chains = this.mergeable ? this.held : 1;
    let direct = 0;
    outer: for (let c = 0; c < chains; c++) {
      for (const s of this.chainAt(c).writable) {
        if (iov.length === IOV_MAX - 1) break outer;
        if (s.len === 0) continue;
        iov.push(this.mem.slice(s.gpa, s.len));
        direct += s.len;
      }
    }
    iov.push(this.spill);
    return direct;
  }

  /**
   * Copies the frame's bytes still in the spill into held chains, popping
   * more as needed (MRG_RXBUF only; without it the frame fits chain 0).
   * False: the driver has no buffer now (the frame waits), or the whole
   * ring cannot hold it (the frame is dropped and its chains returned).
   */
  private deliver(): boolean {
    while (this.frameDone < this.frameLen) {
      if (this.frameDone >= this.heldBytes) {
        if (this.held === this.pool.length || this.heldSegments >= this.segmentBudget) {
          this.abandon(`frame of ${this.frameLen} bytes is larger than the ${this.held} receive chains the device may hold (${this.heldBytes} bytes in ${this.heldSegments} buffers)`);
          return true;
        }
        if (!this.popOne(true)) return false;
        continue;
      }
      // Find the buffer holding stream position frameDone and fill from there.
      let skip = this.frameDone;
      for (let c = 0; c < this.held && this.frameDone < this.frameLen; c++) {
        const chain = this.chainAt(c);
        if (skip >= chain.writableLength) {
          skip -= chain.writableLength;
          continue;
        }
        for (const s of chain.writable) {
          if (this.frameDone === this.frameLen) break;
          if (skip >= s.len) {
            skip -= s.len;
            continue;
          }
          this.copyOut(s, skip);
          skip = 0;
        }
      }
    }
    return true;
  }

  /** Copies spill bytes for frame positions [frameDone, ...) into segment `s` from offset `at`. */
  private copyOut(s: Segment, at: number): void {
    const n = Math.min(s.len - at, this.frameLen - this.frameDone);
    const from = this.frameDone - this.spillStart;
    this.mem.slice(s.gpa + at, n).set(this.spill.subarray(from, from + n));
    this.frameDone += n;
  }

  /** Returns a fully delivered frame's chains with num_buffers filled in. */
  private complete(): void {
    const len = this.frameLen;
    let count = 0;
    let covered = 0;
    while (covered < len) covered += this.chainAt(count++).writableLength;
    this.writeNumBuffers(this.chainAt(0), count);
    let left = len;
    for (let c = 0; c < count; c++) {
      const chain = this.chainAt(c);
      const used = Math.min(left, chain.writableLength);
      this.queue.addUsed(chain, used);
      left -= used;
    }
    this.release(count);
    this.completed += count;
    this.stats.frames++;
    this.stats.bytes += len - this.headerSize;
    this.frameLen = 0;
  }

  /** Drops the frame in progress, returning every held chain unused. */
  private abandon(reason: string): void {
    const count = this.held;
    for (let c = 0; c < count; c++) this.queue.addUsed(this.chainAt(c), 0);
    this.release(count);
    this.completed += count;
    this.frameLen = 0;
    this.drop(reason);
  }

  private release(count: number): void {
    for (let c = 0; c < count; c++) {
      const chain = this.chainAt(c);
      this.heldBytes -= chain.writableLength;
      this.heldSegments -= chain.writable.length;
      chain.clear(); // an idle chain keeps at most RX_RETAINED_SEGMENTS objects
    }
    this.head = (this.head + count) % this.pool.length;
    this.held -= count;
  }

  /** num_buffers is header bytes 10..11 (little-endian); the header may span segments. */
  private writeNumBuffers(chain: DescriptorChain, count: number): void {
    if (this.headerSize < VIRTIO_NET_HDR.SIZE) return;
    const nb = this.numBuffers;
    nb[0] = count & 0xff;
    nb[1] = count >>> 8;
    let skip: number = VIRTIO_NET_HDR.NUM_BUFFERS;
    let done = 0;
    for (const s of chain.writable) {
      if (done === nb.length) return;
      if (skip >= s.len) {
        skip -= s.len;
        continue;
      }
      const n = Math.min(s.len - skip, nb.length - done);
      this.mem.write(s.gpa + skip, nb.subarray(done, done + n));
      done += n;
      skip = 0;
    }
  }
}
