// virtio-net transmit (virtio 1.2 §5.1.6.2): the driver's frames, each a
// virtio_net_hdr followed by an Ethernet frame in device-readable buffers,
// written to the TAP with one writev straight from guest memory. Runs on the
// device's worker thread.
//
// Parse, then act: every chain is checked before anything is written:
// readable buffers only, a header and at least an Ethernet header, at most
// the header + 64 KiB (MAX_TX_FRAME), and a header that matches the
// negotiated offloads (header.ts checkTxHeader). A chain that fails, or that
// the kernel refuses, is dropped and counted; it is returned with length 0
// (TX buffers are never written) and the queue goes on.
//
// Back-pressure: a TAP write that would block (-EAGAIN) keeps the chain and
// stops: `blocked` is set and the worker polls the TAP for POLLOUT, then
// calls process() again, which retries that chain first. Each call returns
// after `budget` chains with `more` set, so one busy transmitter cannot keep
// the worker from serving RX.
import type { GuestMemory } from '../../../memory/guest_memory.js';
import { ERRNO } from '../../../native/linux.js';
import { DescriptorChain, DescriptorChainError, type Virtqueue } from '../queue.js';
import { ETH, MAX_TX_FRAME } from './constants.js';
import { checkTxHeader, decodeHeader, emptyHeader } from './header.js';
import type { PacketIo } from './packet_io.js';
import { worthLogging } from './rx.js';
import { IOV_MAX } from '../../../base/limits.js';


export interface NetTxOptions {
  /** virtio_net_hdr size (12 with VERSION_1). */
  readonly headerSize: number;
  /** Negotiated features: which offloads a header may ask for. */
  readonly features: bigint;
  readonly log?: (line: string) => void;
}

export interface TxStats {
  /** Frames written to the TAP. */
  frames: number;
  /** Their bytes, virtio header excluded. */
  bytes: number;
  /** Chains refused (malformed, oversized, bad header) or frames the TAP refused. */
  dropped: number;
}

export class NetTx {
  readonly stats: TxStats = { frames: 0, bytes: 0, dropped: 0 };
  private readonly headerSize: number;
  private readonly features: bigint;
  private readonly log: (line: string) => void;
  private readonly chain = new DescriptorChain();
  private readonly views: Uint8Array[] = [];
  private readonly headerBytes: Uint8Array;
  private readonly header = emptyHeader();
  private readonly bounce: Uint8Array;
  /** `chain` was popped and its write would have blocked. */
  private pending = false;
  /** Frames refused with EIO since the last one the TAP took: its link is down (not up yet, or set down). */
  private linkDownDrops = 0;
  private budgetHit = false;

  constructor(
    private readonly mem: GuestMemory,
    private readonly queue: Virtqueue,
    private readonly io: PacketIo,
    options: NetTxOptions,
  ) {
    this.headerSize = options.headerSize;
    this.features = options.features;
    this.log = options.log ?? ((line) => console.error(line));
    this.headerBytes = new Uint8Array(this.headerSize);
    this.bounce = new Uint8Array(this.headerSize + MAX_TX_FRAME);
  }

  /** A frame waits for room in the TAP: poll it for POLLOUT, then call process(). */
  get blocked(): boolean {
    return this.pending;
  }

  /** The last call stopped at its budget with chains left: call process() again soon. */
  get more(): boolean {
    return this.budgetHit;
  }

  /**
   * Sends available frames: stops when the ring is empty, the TAP is full,
   * or `budget` chains were handled. Returns the chains returned to the
   * driver. Throws VirtqueueError when the ring is unusable.
   */
  process(budget: number = this.queue.size): number {
    const { queue, chain } = this;
    this.budgetHit = false;
    let completed = 0;
    if (this.pending) {
      if (!this.send()) return 0;
      this.pending = false;
      completed++;
    }
    do {
      queue.disableNotifications();
      for (;;) {
        if (completed >= budget) {
          this.budgetHit = true;
          return completed;
        }
        try {
          if (!queue.pop(chain)) break;
        } catch (err) {
          if (!(err instanceof DescriptorChainError)) throw err;
          this.drop(err.message);
          queue.addUsed(chain, 0);
          completed++;
          continue;
        }
        const problem = this.check(chain);
        if (problem !== null) {
          this.drop(problem);
          queue.addUsed(chain, 0);
          completed++;
          continue;
        }
        if (!this.send()) {
          this.pending = true;
          return completed;
        }
        completed++;
      }
    } while (queue.enableNotifications());
    return completed;
  }

  /** Why this chain cannot be sent, or null. */
  private check(chain: DescriptorChain): string | null {
    const hdr = this.headerSize;
    if (chain.writable.length !== 0) return `transmit chain ${chain.id} has ${chain.writable.length} device-writable buffers`;
    const len = chain.readableLength;
    if (len < hdr + ETH.HLEN) return `transmit chain ${chain.id} of ${len} bytes is shorter than header + Ethernet header (${hdr + ETH.HLEN})`;
    if (len > hdr + MAX_TX_FRAME) return `transmit chain ${chain.id} of ${len} bytes exceeds header + ${MAX_TX_FRAME}`;
    this.gatherHeader(chain);
    const bad = checkTxHeader(decodeHeader(this.headerBytes, this.header), len - hdr, this.features);
    return bad === null ? null : `transmit chain ${chain.id}: ${bad}`;
  }

  private gatherHeader(chain: DescriptorChain): void {
    const into = this.headerBytes;
    let done = 0;
    for (const s of chain.readable) {
      if (done === into.length) return;
      const n = Math.min(s.len, into.length - done);
      into.set(this.mem.slice(s.gpa, n), done);
      done += n;
    }
  }

  /**
   * Writes the checked chain as one frame and returns it to the driver.
   * False: the TAP is full (nothing written, the chain is kept).
   */
  private send(): boolean {
    const { chain, views } = this;
    const len = chain.readableLength;
    if (chain.readable.length <= IOV_MAX) {
      for (const s of chain.readable) views.push(this.mem.slice(s.gpa, s.len));
    } else {
      let off = 0;
      for (const s of chain.readable) {
        this.bounce.set(this.mem.slice(s.gpa, s.len), off);
        off += s.len;
      }
      views.push(this.bounce.subarray(0, len));
    }
    let n: number;
    try {
      n = this.io.write(views);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      n = -1;
      if (e.code === 'EIO') this.linkDown();
      else this.drop(`the TAP refused a ${len}-byte frame: ${e.code ?? 'error'}: ${e.message ?? String(err)}`);
    } finally {
      views.length = 0;
    }
    if (n === -ERRNO.EAGAIN) return false;
    if (n >= 0 && this.linkDownDrops > 0) {
      this.log(`virtio-net: tx: the TAP takes frames again (${this.linkDownDrops} dropped while its link was down)`);
      this.linkDownDrops = 0;
    }
    if (n === len) {
      this.stats.frames++;
      this.stats.bytes += len - this.headerSize;
    } else if (n >= 0) {
      this.drop(`short write to the TAP: ${n} of ${len} bytes`);
    }
    this.queue.addUsed(chain, 0);
    return true;
  }

  /** A TAP whose link is down refuses every frame with EIO: not worth a line per frame. Counted; said once per outage. */
  private linkDown(): void {
    this.stats.dropped++;
    if (this.linkDownDrops++ === 0) this.log("virtio-net: tx: the TAP's link is down (EIO): dropping and counting frames until it is up");
  }

  private drop(reason: string): void {
    if (worthLogging(++this.stats.dropped)) this.log(`virtio-net: tx: dropped: ${reason} (${this.stats.dropped} dropped so far)`);
  }
}
