// Test-only helpers for virtio-net: a fake TAP (PacketIo over arrays), frame
// builders, and a ring of either layout driven through the driver mock
// (../mock_driver.fixture.ts) with receive/transmit chains whose buffers can be read back.
// Nothing in the VMM imports this.
import { GuestMemory } from '../../../memory/guest_memory.js';
import { ERRNO } from '../../../native/linux.js';
import { PackedDriver, SplitDriver, type MockBuffer, type UsedElement } from '../mock_driver.fixture.js';
import { PackedQueue } from '../queue_packed.js';
import { SplitQueue } from '../queue_split.js';
import type { Virtqueue } from '../queue.js';
import { VIRTIO_NET_HDR } from './constants.js';
import { encodeHeader, emptyHeader, type VnetHeader } from './header.js';
import type { PacketIo } from './packet_io.js';
import type { IoTable } from '../../../memory/io_table.js';

export type Layout = 'split' | 'packed';
export const LAYOUTS: readonly Layout[] = ['split', 'packed'];

/** A TAP that exists only in memory: `inbound` frames are read one per read; written frames land in `written`. */
export class FakeTap implements PacketIo {
  readonly inbound: Uint8Array[] = [];
  readonly written: Uint8Array[] = [];
  reads = 0;
  /** While true, writes report -EAGAIN. */
  full = false;
  /** When set, every write fails with -errno (its `errno`, default EIO). */
  failWith: (Error & { errno?: number }) | null = null;

  /** One frame into `into`: bytes, or -EAGAIN when none is waiting. */
  read(into: Uint8Array[]): number {
    this.reads++;
    const frame = this.inbound.shift();
    if (frame === undefined) return -ERRNO.EAGAIN;
    let done = 0;
    for (const v of into) {
      if (done === frame.length) break;
      const n = Math.min(v.length, frame.length - done);
      v.set(frame.subarray(done, done + n));
      done += n;
    }
    return done; // truncated like a datagram socket when `into` is too small
  }

  /** One frame from `views`: bytes, or -EAGAIN / -errno. */
  write(views: Uint8Array[]): number {
    if (this.failWith !== null) return -(this.failWith.errno ?? 5);
    if (this.full) return -ERRNO.EAGAIN;
    this.written.push(concat(views));
    return this.written[this.written.length - 1]!.length;
  }

  writeFrames(t: IoTable, n: number): number {
    for (let e = 0; e < n; e++) {
      const r = this.write(t.views(e));
      t.results[e] = r;
      if (r === -ERRNO.EAGAIN) return e + 1;
    }
    return n;
  }

  readFrames(t: IoTable, n: number): number {
    for (let e = 0; e < n; e++) {
      const views = t.views(e);
      const r = this.read(views);
      t.results[e] = r;
      const room = views.reduce((sum, v) => sum + v.length, 0) - (views[views.length - 1]?.length ?? 0);
      if (r <= 0 || r > room) return e + 1;
    }
    return n;
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A recognisable payload: byte i is (i * 7 + seed) & 0xff. */
export function payload(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

/** A 12-byte virtio_net_hdr (fields from `h`) followed by `body`. */
export function withHeader(body: Uint8Array, h: Partial<VnetHeader> = {}): Uint8Array {
  const hdr = new Uint8Array(VIRTIO_NET_HDR.SIZE);
  encodeHeader({ ...emptyHeader(), ...h }, hdr);
  return concat([hdr, body]);
}

export const RAM = 0x80_0000;

/** Receive buffers placed from here by TestRing (rings and mock allocations stay below). */
const BUFFER_BASE = 0x40_0000;

export class TestRing {
  readonly mem: GuestMemory;
  readonly queue: Virtqueue;
  readonly split: SplitDriver | null;
  readonly packed: PackedDriver | null;
  /** Buffers of each outstanding chain, by the id the device returns. */
  private readonly buffers = new Map<number, Array<{ gpa: number; len: number }>>();
  private next = BUFFER_BASE;

  constructor(
    readonly layout: Layout,
    size = 16,
    options: { eventIdx?: boolean; mem?: GuestMemory; base?: number; dataBase?: number; dataEnd?: number } = {},
  ) {
    this.mem = options.mem ?? new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(RAM) }]);
    const base = options.base ?? 0x1000;
    const dataBase = options.dataBase ?? 0x10_0000;
    const dataEnd = options.dataEnd ?? BUFFER_BASE;
    const features = { eventIdx: options.eventIdx ?? false, indirect: true };
    this.split = layout === 'split' ? new SplitDriver(this.mem, size, base, dataBase, dataEnd) : null;
    this.packed = layout === 'packed' ? new PackedDriver(this.mem, size, base, dataBase, dataEnd) : null;
    this.queue = this.split !== null ? new SplitQueue(this.mem, this.split.layout, features) : new PackedQueue(this.mem, this.packed!.layout, features);
  }

  add(buffers: MockBuffer[], indirect = false): number {
    return this.split !== null ? this.split.addChain(buffers, { indirect }) : this.packed!.addChain(buffers, { indirect });
  }

  /** Adds a receive chain whose writable buffers have lengths `lens`; returns its id. */
  addRx(lens: readonly number[], indirect = false): number {
    const segs = lens.map((len) => {
      const gpa = this.next;
      this.next += Math.ceil(Math.max(len, 1) / 16) * 16;
      this.mem.fill(gpa, len, 0xee);
      return { gpa, len };
    });
    const id = this.add(
      segs.map((s) => ({ gpa: s.gpa, len: s.len, write: true })),
      indirect,
    );
    this.buffers.set(id, segs);
    return id;
  }

  /** Adds a transmit chain with one readable buffer per part; returns its id. */
  addTx(parts: readonly Uint8Array[], indirect = false): number {
    return this.add(
      parts.map((p) => ({ len: p.length, data: p })),
      indirect,
    );
  }

  takeUsed(): UsedElement[] {
    return this.split !== null ? this.split.takeUsed() : this.packed!.takeUsed();
  }

  /** The first `len` bytes the device wrote into receive chain `id`. */
  received(id: number, len: number): Uint8Array {
    const segs = this.buffers.get(id);
    if (segs === undefined) throw new Error(`no receive chain ${id}`);
    const parts: Uint8Array[] = [];
    let left = len;
    for (const s of segs) {
      if (left === 0) break;
      const n = Math.min(left, s.len);
      parts.push(this.mem.slice(s.gpa, n));
      left -= n;
    }
    return concat(parts);
  }

  /** Received frames: concatenates used RX buffers, num_buffers at a time (MRG_RXBUF). */
  frames(used: readonly UsedElement[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < used.length; ) {
      const first = used[i]!;
      const head = this.received(first.id, first.len);
      const count = head.length >= VIRTIO_NET_HDR.SIZE ? head[VIRTIO_NET_HDR.NUM_BUFFERS]! | (head[VIRTIO_NET_HDR.NUM_BUFFERS + 1]! << 8) : 1;
      const parts = [head];
      for (let k = 1; k < count; k++) {
        const u = used[i + k];
        if (u === undefined) throw new Error(`frame at used ${i} claims ${count} buffers, only ${used.length - i} returned`);
        parts.push(this.received(u.id, u.len));
      }
      out.push(concat(parts));
      i += Math.max(count, 1);
    }
    return out;
  }
}
