// Fuzz targets for virtio-net: the transmit header checks (header.ts), the
// transmit path (tx.ts) and the receive path (rx.ts), on split and packed
// rings built with the driver mock, against a fake TAP.
//
// Invariants:
// - checkTxHeader never throws, and what it accepts obeys §5.1.6.2 as
//   negotiated (only NEEDS_CSUM from the driver, the checksum inside the
//   frame, a GSO type only with its HOST_* feature, NEEDS_CSUM and a
//   gso_size, ECN only with HOST_ECN); headers survive encode/decode;
// - TX: process() throws nothing on a well-formed ring; every frame the TAP
//   gets is exactly one chain's readable bytes, between header + Ethernet
//   header and header + 64 KiB, with a header checkTxHeader accepts; every
//   chain comes back once with length 0 (also when the TAP was full for a
//   while); guest memory changes only in the device's ring areas;
// - RX: process() throws nothing on a well-formed ring; the device writes
//   only receive buffers and its ring areas; a used length never exceeds the
//   chain's writable bytes; every frame the TAP gave is delivered whole or
//   counted as dropped; the device never keeps more than
//   RX_SEGMENTS_PER_QUEUE_ENTRY x size Segment objects.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecordingMemory, type Range } from '../../../fuzz/guest_ram.js';
import { fuzzTarget, type FuzzTarget } from '../../../fuzz/target.js';
import { VIRTIO_F, featureBit } from '../constants.js';
import { PackedDriver, SplitDriver, type MockBuffer, type UsedElement } from '../mock_driver.fixture.js';
import type { Virtqueue } from '../queue.js';
import { ringLayout, type RingLayout } from '../queue.fuzz.js';
import { PackedQueue } from '../queue_packed.js';
import { SplitQueue } from '../queue_split.js';
import { ETH, MAX_TX_FRAME, VIRTIO_NET_F, VIRTIO_NET_HDR, VIRTIO_NET_HDR_F, VIRTIO_NET_HDR_GSO } from './constants.js';
import { checkTxHeader, decodeHeader, encodeHeader, type VnetHeader } from './header.js';
import { NetRx, RX_SEGMENTS_PER_QUEUE_ENTRY } from './rx.js';
import { FakeTap, concat } from './net.fixture.js';
import { NetTx } from './tx.js';

const HDR = VIRTIO_NET_HDR.SIZE;
const OFFLOADS = [VIRTIO_NET_F.CSUM, VIRTIO_NET_F.HOST_TSO4, VIRTIO_NET_F.HOST_TSO6, VIRTIO_NET_F.HOST_ECN];
const features = fc.subarray(OFFLOADS).map((bits) => bits.reduce((f, b) => f | featureBit(b), featureBit(VIRTIO_F.VERSION_1)));
const has = (f: bigint, bit: number): boolean => (f & featureBit(bit)) !== 0n;

const header: fc.Arbitrary<VnetHeader> = fc.record({
  flags: fc.oneof(fc.constantFrom(0, VIRTIO_NET_HDR_F.NEEDS_CSUM, VIRTIO_NET_HDR_F.DATA_VALID), fc.nat({ max: 0xff })),
  gsoType: fc.oneof(fc.constantFrom(...Object.values(VIRTIO_NET_HDR_GSO), VIRTIO_NET_HDR_GSO.TCPV4 | VIRTIO_NET_HDR_GSO.ECN), fc.nat({ max: 0xff })),
  hdrLen: fc.nat({ max: 0xffff }),
  gsoSize: fc.oneof(fc.constant(0), fc.nat({ max: 0xffff })),
  csumStart: fc.oneof(fc.nat({ max: 200 }), fc.nat({ max: 0xffff })),
  csumOffset: fc.oneof(fc.constantFrom(6, 16), fc.nat({ max: 0xffff })),
  numBuffers: fc.nat({ max: 0xffff }),
});

function headerCheck([h, frameLen, f]: [VnetHeader, number, bigint]): void {
  const verdict = checkTxHeader(h, frameLen, f);
  const bytes = new Uint8Array(HDR);
  encodeHeader(h, bytes);
  assert.deepEqual({ ...decodeHeader(bytes) }, { ...h }, 'encode/decode round trip');
  if (verdict !== null) return;
  const type = h.gsoType & ~VIRTIO_NET_HDR_GSO.ECN;
  assert.equal(h.flags & ~VIRTIO_NET_HDR_F.NEEDS_CSUM, 0, 'flags other than NEEDS_CSUM accepted');
  if (h.flags & VIRTIO_NET_HDR_F.NEEDS_CSUM) {
    assert.ok(has(f, VIRTIO_NET_F.CSUM), 'NEEDS_CSUM without CSUM');
    assert.ok(h.csumStart + h.csumOffset + 2 <= frameLen, 'checksum outside the frame');
  }
  if (type !== VIRTIO_NET_HDR_GSO.NONE) {
    assert.ok((type === VIRTIO_NET_HDR_GSO.TCPV4 && has(f, VIRTIO_NET_F.HOST_TSO4)) || (type === VIRTIO_NET_HDR_GSO.TCPV6 && has(f, VIRTIO_NET_F.HOST_TSO6)), `GSO type ${type} accepted`);
    assert.ok(h.flags & VIRTIO_NET_HDR_F.NEEDS_CSUM && h.gsoSize > 0, 'GSO without NEEDS_CSUM or gso_size');
  }
  if (h.gsoType & VIRTIO_NET_HDR_GSO.ECN) assert.ok(type !== VIRTIO_NET_HDR_GSO.NONE && has(f, VIRTIO_NET_F.HOST_ECN), 'ECN accepted');
}

/** Net rings need more room than FUZZ_RAM: rings and tables low, buffers (reused) from 0x10000. */
const NET_RAM = [{ gpa: 0, size: 0x4_0000 }];
const BUFFERS = 0x1_0000;
const BUFFER_AREA = 0x3_0000;

interface Rings {
  readonly mem: RecordingMemory;
  readonly queue: Virtqueue;
  add(buffers: MockBuffer[], indirect: boolean): number;
  takeUsed(): UsedElement[];
  readonly deviceOwned: Range[];
}

function rings(layout: RingLayout, size: number, eventIdx: boolean): Rings {
  const mem = new RecordingMemory(NET_RAM);
  const split = layout === 'split' ? new SplitDriver(mem, size, 0x1000, 0x4000, BUFFERS) : undefined;
  const packed = layout === 'packed' ? new PackedDriver(mem, size, 0x1000, 0x4000, BUFFERS) : undefined;
  const f = { eventIdx, indirect: true };
  return {
    mem,
    queue: split !== undefined ? new SplitQueue(mem, split.layout, f) : new PackedQueue(mem, packed!.layout, f),
    add: (b, indirect) => (split !== undefined ? split.addChain(b, { indirect }) : packed!.addChain(b, { indirect })),
    takeUsed: () => (split !== undefined ? split.takeUsed() : packed!.takeUsed()),
    deviceOwned: ringLayout(layout, size).deviceOwned,
  };
}

interface TxChain {
  readonly header: VnetHeader;
  readonly frameLen: number;
  /** Buffer lengths: cut points of header + frame. */
  readonly cuts: readonly number[];
  readonly writable: boolean;
  readonly indirect: boolean;
}

const txChain = fc.record({
  header,
  frameLen: fc.oneof({ weight: 6, arbitrary: fc.nat({ max: 1600 }) }, { weight: 1, arbitrary: fc.constantFrom(0, ETH.HLEN - 1, ETH.HLEN, MAX_TX_FRAME, MAX_TX_FRAME + 1) }),
  cuts: fc.array(fc.nat({ max: 1700 }), { maxLength: 3 }),
  writable: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  indirect: fc.boolean(),
});

interface TxScenario {
  readonly layout: RingLayout;
  readonly size: number;
  readonly features: bigint;
  readonly chains: readonly TxChain[];
  /** Per process() call: the TAP is full (EAGAIN) this time. */
  readonly full: readonly boolean[];
}

function runTx(s: TxScenario): void {
  const r = rings(s.layout, s.size, false);
  const tap = new FakeTap();
  const tx = new NetTx(r.mem, r.queue, tap, { headerSize: HDR, features: s.features, log: () => {} });
  const expected = new Map<number, Uint8Array>();
  const ids: number[] = [];
  let at = BUFFERS;
  let slots = 0;
  for (const c of s.chains) {
    const bytes = new Uint8Array(HDR + c.frameLen).fill((c.frameLen * 31 + ids.length) & 0xff);
    encodeHeader(c.header, bytes);
    // Lay the bytes out once (wrapping in the buffer area), cut into buffers.
    if (at + bytes.length > BUFFERS + BUFFER_AREA) at = BUFFERS;
    r.mem.write(at, bytes);
    const edges = [...new Set([0, ...c.cuts.filter((x) => x < bytes.length), bytes.length])].sort((a, b) => a - b);
    const bufs: MockBuffer[] = [];
    for (let i = 0; i + 1 < edges.length; i++) bufs.push({ gpa: at + edges[i]!, len: edges[i + 1]! - edges[i]! });
    if (c.writable) bufs.push({ gpa: at, len: 4, write: true });
    at += bytes.length + 16;
    // The driver owns `size` ring descriptors (an indirect chain takes one).
    if ((slots += c.indirect ? 1 : bufs.length) > s.size) break;
    const id = r.add(bufs, c.indirect);
    ids.push(id);
    expected.set(id, bytes);
  }
  const before = r.mem.snapshot();
  const used: UsedElement[] = [];
  for (const full of [...s.full, false, false]) {
    tap.full = full;
    tx.process();
    used.push(...r.takeUsed());
  }
  // As the worker does: call again while TX stopped at its budget of queue-size chains or buffers.
  for (let calls = 0; tx.more; calls++) {
    assert.ok(calls < 2 * s.size, 'TX keeps asking to be called again');
    tx.process();
    used.push(...r.takeUsed());
  }
  assert.equal(r.mem.changedOutside(before, r.deviceOwned), null);
  assert.deepEqual(used.map((u) => u.id), ids, 'every chain comes back once, in order');
  assert.ok(used.every((u) => u.len === 0), 'TX used lengths are 0');
  const sent = [...expected.values()];
  for (const frame of tap.written) {
    assert.ok(sent.some((b) => b.length === frame.length && Buffer.from(b).equals(Buffer.from(frame))), 'a frame the driver never sent reached the TAP');
    assert.ok(frame.length >= HDR + ETH.HLEN && frame.length <= HDR + MAX_TX_FRAME, `frame of ${frame.length} bytes`);
    assert.equal(checkTxHeader(decodeHeader(frame.subarray(0, HDR)), frame.length - HDR, s.features), null, 'a refused header reached the TAP');
  }
  assert.equal(tx.stats.frames + tx.stats.dropped, ids.length, 'every chain is sent or dropped');
  assert.deepEqual(r.mem.outside, []);
}

interface RxScenario {
  readonly layout: RingLayout;
  readonly size: number;
  readonly mergeable: boolean;
  /** Writable buffer lengths of each receive chain; `readable` adds a device-readable buffer first. */
  readonly chains: ReadonlyArray<{ readonly lens: readonly number[]; readonly readable: boolean; readonly indirect: boolean }>;
  readonly frames: readonly number[];
}

function runRx(s: RxScenario): void {
  const r = rings(s.layout, s.size, true);
  const tap = new FakeTap();
  const rx = new NetRx(r.mem, r.queue, tap, { headerSize: HDR, mergeable: s.mergeable, log: () => {} });
  const writable = new Map<number, number>();
  const ranges: Range[] = [];
  let at = BUFFERS;
  let slots = 0;
  for (const c of s.chains) {
    const bufs: MockBuffer[] = c.readable ? [{ gpa: at, len: 8 }] : [];
    for (const len of c.lens) {
      if (at + len > BUFFERS + BUFFER_AREA) break;
      bufs.push({ gpa: at, len, write: true });
      ranges.push({ start: at, end: at + len });
      at += len;
    }
    if (bufs.length === 0) continue;
    if ((slots += c.indirect ? 1 : bufs.length) > s.size) break;
    writable.set(r.add(bufs, c.indirect), c.lens.reduce((n, l) => n + l, 0));
  }
  const frames = s.frames.map((len, i) => concat([new Uint8Array(HDR), new Uint8Array(len).fill(i + 1)]));
  tap.inbound.push(...frames);
  const before = r.mem.snapshot();
  rx.process();
  rx.process();
  assert.ok(rx.retainedSegments <= RX_SEGMENTS_PER_QUEUE_ENTRY * s.size, `${rx.retainedSegments} segments kept for a queue of ${s.size}`);
  assert.equal(r.mem.changedOutside(before, [...r.deviceOwned, ...ranges]), null);
  const used = r.takeUsed();
  for (const u of used) assert.ok(u.len <= (writable.get(u.id) ?? 0), `used length ${u.len} > chain ${u.id}'s writable bytes`);
  // Each frame read from the TAP is delivered, dropped, or (MRG_RXBUF) waiting for buffers.
  const read = frames.length - tap.inbound.length;
  assert.equal(rx.stats.frames + rx.stats.dropped + (rx.frameWaiting ? 1 : 0), read, 'a frame read from the TAP was lost');
  assert.deepEqual(r.mem.outside, []);
}

const layout = fc.constantFrom('split' as const, 'packed' as const);
const size = fc.constantFrom(2, 4, 8, 16);

const txScenario: fc.Arbitrary<TxScenario> = fc.record({ layout, size, features, chains: fc.array(txChain, { maxLength: 16 }), full: fc.array(fc.boolean(), { maxLength: 4 }) });
const rxScenario: fc.Arbitrary<RxScenario> = fc.record({
  layout,
  size,
  mergeable: fc.boolean(),
  chains: fc.array(fc.record({ lens: fc.array(fc.oneof(fc.nat({ max: 64 }), fc.integer({ min: 1500, max: 1600 })), { minLength: 1, maxLength: 4 }), readable: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }), indirect: fc.boolean() }), { maxLength: 16 }),
  frames: fc.array(fc.oneof(fc.nat({ max: 1600 }), fc.constantFrom(0, 1, 65536, 70000)), { maxLength: 6 }),
});

export const NET_TARGETS: readonly FuzzTarget[] = [
  fuzzTarget('virtio-net TX header checks', 300, fc.tuple(header, fc.nat({ max: 70000 }), features), headerCheck),
  fuzzTarget('virtio-net TX through the queue', 60, txScenario, runTx),
  fuzzTarget('virtio-net RX through the queue', 100, rxScenario, runRx),
];
