// virtio-net transmit (virtio 1.2 §5.1.6.2): the driver's frames, each a
// virtio_net_hdr followed by an Ethernet frame in device-readable buffers,
// written to the TAP with one writev each straight from guest memory. Runs
// on the device's worker thread.
//
// Parse, then act: every chain is checked before anything is written:
// readable buffers only, a header and at least an Ethernet header, at most
// the header + 64 KiB (MAX_TX_FRAME), and a header that matches the
// negotiated offloads (header.ts checkTxHeaderFor). A chain that fails, or
// that the kernel refuses, is dropped and counted; it is returned with
// length 0 (TX buffers are never written) and the queue goes on.
//
// Batches: chains are popped into a small pool of slots and their frames
// laid out in an IoTable, then written with one addon call (writevEach: one
// writev per frame); chains go back to the driver in the order they were
// popped. Nothing is allocated per frame.
//
// Back-pressure: a TAP write that would block (-EAGAIN) stops the batch:
// the frames not written stay in their slots and `blocked` is set; the
// worker polls the TAP for POLLOUT, then calls process() again, which
// retries them first. Each call returns once it took `budget` chains or
// `budget` buffers (the queue size: O(size) work per call, however long the
// chains) with `more` set, so one busy transmitter cannot keep the worker
// from serving RX or the control fd.
import type { GuestMemory } from '../../../memory/guest_memory.js';
import { HostBuffer, IoTable } from '../../../memory/io_table.js';
import { IOV_MAX } from '../../../base/limits.js';
import { ERRNO } from '../../../native/linux.js';
import { errnoName } from '../../../native/errno.js';
import { DescriptorChain, DescriptorChainError, type Virtqueue } from '../queue.js';
import { ETH, MAX_TX_FRAME } from './constants.js';
import { checkTxHeaderFor, emptyHeader, txOffloads, type TxOffloads } from './header.js';
import type { PacketIo } from './packet_io.js';
import { worthLogging } from './rx.js';
import { readTxHeader } from './guest_header.js';

/** Chains one batch holds at most (one addon call writes them all). */
export const TX_BATCH = 64;
/** Segments one batch's table holds: a chain that does not fit starts the next batch. */
const TX_TABLE_SEGMENTS = 2 * IOV_MAX;
/** Buffer slots an idle TX chain keeps (Linux sends 1 or 2 buffers; a long chain gives its memory back). */
const TX_RETAINED_SEGMENTS = 8;

/** A slot's chain: returned with length 0 without a write, written from the table, or waiting for room in the table. */
const SLOT = { DROP: 0, FRAME: 1, WAITING: 2 } as const;

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
  private readonly offloads: TxOffloads;
  private readonly log: (line: string) => void;
  private readonly header = emptyHeader();
  private readonly headerBytes: Uint8Array;
  private readonly bounce: HostBuffer;
  private readonly table: IoTable;
  /** Popped chains not yet returned, in pop order: slots[0, held). */
  private readonly slots: DescriptorChain[] = [];
  private readonly state: Uint8Array;
  private held = 0;
  /** The table's bounce buffer holds a frame of the current batch. */
  private bounced = false;
  private pending = false;
  /** Frames refused with EIO since the last one the TAP took: its link is down (not up yet, or set down). */
  private linkDownDrops = 0;
  private budgetHit = false;
  /** Chains returned during the current process() call, and buffers popped. */
  private completed = 0;
  private buffers = 0;

  constructor(
    private readonly mem: GuestMemory,
    private readonly queue: Virtqueue,
    private readonly io: PacketIo,
    options: NetTxOptions,
  ) {
    this.headerSize = options.headerSize;
    this.offloads = txOffloads(options.features);
    this.log = options.log ?? ((line) => console.error(line));
    this.headerBytes = new Uint8Array(this.headerSize);
    this.bounce = new HostBuffer(new Uint8Array(this.headerSize + MAX_TX_FRAME));
    const batch = Math.min(TX_BATCH, queue.size);
    this.table = new IoTable(mem, TX_TABLE_SEGMENTS, batch);
    for (let i = 0; i < batch; i++) this.slots.push(new DescriptorChain(TX_RETAINED_SEGMENTS));
    this.state = new Uint8Array(batch);
  }

  /** Frames wait for room in the TAP: poll it for POLLOUT, then call process(). */
  get blocked(): boolean {
    return this.pending;
  }

  /** The last call stopped at its budget with chains left: call process() again soon. */
  get more(): boolean {
    return this.budgetHit;
  }

  /**
   * Sends available frames: stops when the ring is empty, the TAP is full,
   * or `budget` chains or buffers were taken. Returns the chains returned to
   * the driver. Throws VirtqueueError when the ring is unusable.
   */
  process(budget: number = this.queue.size): number {
    const queue = this.queue;
    this.budgetHit = false;
    this.completed = 0;
    this.buffers = 0;
    if (this.held > 0 && !this.flush()) return this.completed;
    do {
      queue.disableNotifications();
      for (;;) {
        if (this.completed + this.held >= budget || this.buffers >= budget) {
          this.budgetHit = this.flush();
          return this.completed;
        }
        if (this.held === this.slots.length && !this.flush()) return this.completed;
        const slot = this.held;
        const chain = this.slots[slot]!;
        try {
          if (!queue.pop(chain)) break;
        } catch (err) {
          if (!(err instanceof DescriptorChainError)) throw err;
          this.held++;
          this.buffers += chain.count + 1;
          this.state[slot] = SLOT.DROP;
          this.drop(err.message);
          continue;
        }
        this.held++;
        this.buffers += chain.count;
        const problem = this.check(chain);
        if (problem !== null) {
          this.state[slot] = SLOT.DROP;
          this.drop(problem);
        } else if (this.add(chain)) {
          this.state[slot] = SLOT.FRAME;
        } else {
          this.state[slot] = SLOT.WAITING;
          if (!this.flush()) return this.completed;
        }
      }
      if (!this.flush()) return this.completed;
    } while (queue.enableNotifications());
    return this.completed;
  }

  /** Why this chain cannot be sent, or null. */
  private check(chain: DescriptorChain): string | null {
    const hdr = this.headerSize;
    if (chain.writableCount !== 0) return `transmit chain ${chain.id} has ${chain.writableCount} device-writable buffers`;
    const len = chain.readableLength;
    if (len < hdr + ETH.HLEN) return `transmit chain ${chain.id} of ${len} bytes is shorter than header + Ethernet header (${hdr + ETH.HLEN})`;
    if (len > hdr + MAX_TX_FRAME) return `transmit chain ${chain.id} of ${len} bytes exceeds header + ${MAX_TX_FRAME}`;
    readTxHeader(this.mem, chain, this.headerBytes, this.header);
    const bad = checkTxHeaderFor(this.header, len - hdr, this.offloads);
    return bad === null ? null : `transmit chain ${chain.id}: ${bad}`;
  }

  /** Lays the chain's frame out as the table's next entry; false when it must wait for the next batch. */
  private add(chain: DescriptorChain): boolean {
    const t = this.table;
    const n = chain.readableCount;
    if (n <= IOV_MAX) {
      if (n > t.room) return false;
      t.begin();
      for (let i = 0; i < n; i++) t.addGuest(chain.gpa(i), chain.len(i));
      return true;
    }
    // More buffers than one writev takes: copied into the bounce buffer, one per batch.
    if (this.bounced || t.room === 0) return false;
    const into = this.bounce.bytes;
    let off = 0;
    for (let i = 0; i < n; i++) {
      into.set(this.mem.slice(chain.gpa(i), chain.len(i)), off);
      off += chain.len(i);
    }
    t.begin();
    t.addHost(this.bounce, off);
    this.bounced = true;
    return true;
  }

  /**
   * Writes the table and returns, in pop order, every slot whose fate is
   * known: dropped chains and written (or refused) frames. Stops at a frame
   * the TAP had no room for (returns false: `blocked`). A chain waiting for
   * room in the table gets its entry once the slots before it are gone.
   */
  private flush(): boolean {
    for (;;) {
      const t = this.table;
      const tried = t.entries > 0 ? this.io.writeFrames(t, t.entries) : 0;
      let entry = 0;
      let slot = 0;
      let full = false;
      for (; slot < this.held; slot++) {
        const state = this.state[slot]!;
        if (state === SLOT.WAITING) break;
        const chain = this.slots[slot]!;
        if (state === SLOT.FRAME) {
          if (entry >= tried || t.results[entry] === -ERRNO.EAGAIN) {
            full = true;
            break;
          }
          this.account(chain, t.results[entry]!);
          entry++;
        }
        this.queue.addUsed(chain, 0);
        this.completed++;
      }
      this.release(slot, entry);
      this.pending = full;
      if (full || this.held === 0) return !full;
      // slots[0] waits for room, which is now free.
      if (!this.add(this.slots[0]!)) throw new Error('virtio-net tx: a chain does not fit an empty table');
      this.state[0] = SLOT.FRAME;
    }
  }

  /** Forgets the first `slots` slots and `entries` table entries; the rest move to the front. */
  private release(slots: number, entries: number): void {
    if (slots === 0) return;
    const s = this.slots;
    for (let i = slots; i < this.held; i++) {
      const done = s[i - slots]!;
      s[i - slots] = s[i]!;
      s[i] = done;
      this.state[i - slots] = this.state[i]!;
    }
    this.held -= slots;
    this.table.shift(entries);
    if (this.table.entries === 0) this.bounced = false;
  }

  private account(chain: DescriptorChain, n: number): void {
    const len = chain.readableLength;
    if (n === len) {
      this.stats.frames++;
      this.stats.bytes += len - this.headerSize;
    } else if (n >= 0) {
      this.drop(`short write to the TAP: ${n} of ${len} bytes`);
    } else if (n === -ERRNO.EIO) {
      this.linkDown();
      return;
    } else {
      this.drop(`the TAP refused a ${len}-byte frame: ${errnoName(-n)}`);
    }
    if (n >= 0 && this.linkDownDrops > 0) {
      this.log(`virtio-net: tx: the TAP takes frames again (${this.linkDownDrops} dropped while its link was down)`);
      this.linkDownDrops = 0;
    }
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
