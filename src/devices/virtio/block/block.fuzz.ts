// Fuzz target for virtio-blk: random requests (any type, any sector near
// and far past the end, data of any length split anywhere, in either
// direction, status buffers of any size, discard/write-zeroes segments) on
// split and packed rings, served by BlockQueueHandler (queue_handler.ts,
// which parses with request.ts and executes with executor.ts) against a fake
// disk that checks every call.
//
// Invariants:
// - process() never throws (a broken ring becomes DEVICE_NEEDS_RESET);
// - the disk is asked only for whole sectors inside it; a read-only disk is
//   never written; every read or write matches a request of that type and
//   sector and is no longer than its buffers (write-zeroes and discard: its
//   segment's range);
// - the device writes only the chains' device-writable buffers and its used
//   ring; every chain completes exactly once, in order, with a length no
//   larger than its writable bytes, and a status byte of OK, IOERR or UNSUPP
//   when it had room for one;
// - work per call: process() stops once it took queue-size chains or
//   buffers (then `more`), so guest reads per call <= callBound(size):
//   O(size), however long the chains; calling again while `more` serves
//   the rest.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecordingMemory, type Range } from '../../../fuzz/guest_ram.js';
import { fuzzTarget, type FuzzTarget } from '../../../fuzz/target.js';
import type { InterruptSink } from '../device.js';
import { PackedDriver, SplitDriver, type MockBuffer } from '../mock_driver.fixture.js';
import type { Virtqueue } from '../queue.js';
import { maxReadsPerPop, ringLayout, type RingLayout } from '../queue.fuzz.js';
import { PackedQueue } from '../queue_packed.js';
import { SplitQueue } from '../queue_split.js';
import { SHARED, createSharedState } from '../shared_state.js';
import type { BlockBackend } from './backend.js';
import type { IoTable } from '../../../memory/io_table.js';
import { VIRTIO_BLK, VIRTIO_BLK_S, VIRTIO_BLK_T } from './constants.js';
import { BlockExecutor } from './executor.js';
import { BlockQueueHandler } from './queue_handler.js';

const SECTOR = VIRTIO_BLK.SECTOR_SIZE;
/** Data buffers are laid out from here each batch (region 1 of FUZZ_RAM). */
const DATA_START = 0x1_0000;

interface Call {
  readonly op: 'read' | 'write' | 'zero';
  readonly offset: number;
  readonly length: number;
}

/**
 * A disk that only checks and records: every call must be whole sectors
 * inside it. Violations are collected, not thrown: the device turns a
 * backend exception into an I/O error status, which would hide them.
 */
/** Guest reads one process() call may make: two queue-size chains, and a header and status per request. */
export const callBound = (size: number): number => 2 * maxReadsPerPop(size) + 32 * size;

class CheckingDisk implements BlockBackend {
  readonly calls: Call[] = [];
  readonly violations: string[] = [];
  failNext = false;
  constructor(
    readonly size: number,
    readonly readOnly: boolean,
  ) {}
  private check(op: Call['op'], offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % SECTOR !== 0) this.violations.push(`${op} at byte ${offset}`);
    if (length % SECTOR !== 0 || offset + length > this.size) this.violations.push(`${op} of ${length} bytes at ${offset} past the ${this.size}-byte disk`);
    if (op !== 'read' && this.readOnly) this.violations.push(`${op} on a read-only disk`);
    this.calls.push({ op, offset, length });
    if (this.failNext) {
      this.failNext = false;
      throw Object.assign(new Error('injected I/O error'), { code: 'EIO' });
    }
  }
  read(t: IoTable, offset: number): void {
    const views = t.views(0);
    this.check('read', offset, views.reduce((n, v) => n + v.length, 0));
    for (const v of views) v.fill(0xd5);
  }
  write(t: IoTable, offset: number): void {
    this.check('write', offset, t.bytes(0));
  }
  flush(): void {}
  zeroRange(offset: number, length: number): boolean {
    this.check('zero', offset, length);
    return offset % (2 * SECTOR) === 0; // sometimes "cannot": the device writes zeroes instead
  }
}

interface Request {
  readonly type: number;
  readonly sector: bigint;
  /** Bytes after the header: data, or a discard/write-zeroes segment. */
  readonly payload: number;
  readonly payloadWritable: boolean;
  readonly dwz: { readonly sector: bigint; readonly sectors: number; readonly flags: number };
  /** Where the buffers are cut (offsets into header + payload). */
  readonly cuts: readonly number[];
  readonly statusLen: number;
  readonly indirect: boolean;
  readonly fail: boolean;
}

function request(capacity: number): fc.Arbitrary<Request> {
  const sector = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: capacity + 2 }).map(BigInt) },
    { weight: 1, arbitrary: fc.constantFrom(2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n, BigInt(capacity) - 1n) },
  );
  return fc.record({
    type: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...Object.values(VIRTIO_BLK_T)) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff_ffff }) }),
    sector,
    payload: fc.oneof(fc.nat({ max: 4 }).map((k) => k * SECTOR), fc.constant(VIRTIO_BLK.DWZ_SEGMENT_SIZE), fc.nat({ max: 1100 })),
    payloadWritable: fc.boolean(),
    dwz: fc.record({ sector, sectors: fc.oneof(fc.nat({ max: capacity + 2 }), fc.nat({ max: 0xffff_ffff })), flags: fc.oneof(fc.constantFrom(0, 1), fc.nat({ max: 0xffff_ffff })) }),
    cuts: fc.array(fc.nat({ max: 1200 }), { maxLength: 4 }),
    statusLen: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(0, 2, 24) }),
    indirect: fc.boolean(),
    fail: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  });
}

interface Scenario {
  readonly layout: RingLayout;
  readonly size: number;
  readonly capacity: number;
  readonly readOnly: boolean;
  readonly eventIdx: boolean;
  readonly batches: ReadonlyArray<readonly Request[]>;
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({ layout: fc.constantFrom('split' as const, 'packed' as const), size: fc.constantFrom(4, 8, 16), capacity: fc.integer({ min: 1, max: 64 }), readOnly: fc.boolean(), eventIdx: fc.boolean() })
  .chain((base) => fc.array(fc.array(request(base.capacity), { maxLength: 8 }), { minLength: 1, maxLength: 3 }).map((batches) => ({ ...base, batches })));

/** Header (+ discard/write-zeroes segment) bytes of a request. */
function readableBytes(r: Request): Uint8Array {
  const b = new Uint8Array(VIRTIO_BLK.HEADER_SIZE + r.payload);
  const v = new DataView(b.buffer);
  v.setUint32(0, r.type, true);
  v.setBigUint64(8, r.sector, true);
  if (r.payload >= VIRTIO_BLK.DWZ_SEGMENT_SIZE) {
    v.setBigUint64(16, r.dwz.sector, true);
    v.setUint32(24, r.dwz.sectors, true);
    v.setUint32(28, r.dwz.flags, true);
  }
  return b;
}

/** The request's buffers at `at`: header and payload cut at r.cuts (payload readable or writable), then the status. */
function buffers(mem: RecordingMemory, r: Request, at: number): MockBuffer[] {
  const bytes = readableBytes(r);
  mem.write(at, bytes);
  const total = bytes.length;
  const edges = [...new Set([0, ...r.cuts.filter((c) => c > 0 && c < total), VIRTIO_BLK.HEADER_SIZE, total])].filter((e) => e <= total).sort((a, b) => a - b);
  const out: MockBuffer[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const write = r.payloadWritable && edges[i]! >= VIRTIO_BLK.HEADER_SIZE;
    out.push({ gpa: at + edges[i]!, len: edges[i + 1]! - edges[i]!, write });
  }
  if (r.statusLen > 0) out.push({ gpa: at + total, len: r.statusLen, write: true });
  // A driver lays readable buffers first; keep that (the rings reject the rest, covered by queue.fuzz.ts).
  return [...out.filter((b) => b.write !== true), ...out.filter((b) => b.write === true)];
}

function run(s: Scenario): void {
  const mem = new RecordingMemory();
  const split = s.layout === 'split' ? new SplitDriver(mem, s.size, 0x1000, 0x2000, 0x8000) : undefined;
  const packed = s.layout === 'packed' ? new PackedDriver(mem, s.size, 0x1000, 0x2000, 0x8000) : undefined;
  const features = { eventIdx: s.eventIdx, indirect: true };
  const queue: Virtqueue = split !== undefined ? new SplitQueue(mem, split.layout, features) : new PackedQueue(mem, packed!.layout, features);
  const disk = new CheckingDisk(s.capacity * SECTOR, s.readOnly);
  const device = new BlockExecutor({ size: disk.size, readOnly: s.readOnly, serial: 'fuzz-disk-serial-0123456789', queueSize: s.size, log: () => {} });
  const state = createSharedState(1, false);
  Atomics.store(state, SHARED.STATUS, 0x0f);
  const sink: InterruptSink = { queue: () => {}, config: () => {} };
  const handler = new BlockQueueHandler(mem, queue, 0, device, disk, state, sink, () => {});
  const { deviceOwned } = ringLayout(s.layout, s.size);
  for (const batch of s.batches) {
    let at = DATA_START;
    let slots = 0;
    const added: Array<{ id: number; r: Request; buffers: number; writable: Range[]; status: number | null; writableBytes: number }> = [];
    for (const r of batch) {
      const bufs = buffers(mem, r, at);
      at += VIRTIO_BLK.HEADER_SIZE + r.payload + r.statusLen + 16;
      if ((slots += r.indirect ? 1 : bufs.length) > s.size) break;
      const writable = bufs.filter((b) => b.write === true).map((b) => ({ start: b.gpa!, end: b.gpa! + b.len }));
      const last = writable[writable.length - 1];
      const id = split !== undefined ? split.addChain(bufs, { indirect: r.indirect }) : packed!.addChain(bufs, { indirect: r.indirect });
      added.push({ id, r, buffers: bufs.length, writable, status: last === undefined || last.end === last.start ? null : last.end - 1, writableBytes: writable.reduce((n, w) => n + w.end - w.start, 0) });
    }
    const before = mem.snapshot();
    disk.calls.length = 0;
    disk.failNext = added.some((a) => a.r.fail);
    // As the worker does: call again while the handler stopped at its budget.
    let calls = 0;
    do {
      mem.resetCounts();
      handler.process();
      assert.ok(mem.reads <= callBound(s.size), `${mem.reads} guest reads in one call, bound ${callBound(s.size)}`);
    } while (handler.more && ++calls <= 2 * s.size);
    assert.equal(handler.more, false, 'the handler keeps asking to be called again');
    assert.deepEqual(disk.violations, [], 'disk calls outside the disk');
    assert.equal(handler.failed, false, 'a well-formed ring was declared broken');
    assert.equal(mem.changedOutside(before, [...deviceOwned, ...added.flatMap((a) => a.writable)]), null);
    const used = split !== undefined ? split.takeUsed() : packed!.takeUsed();
    assert.deepEqual(used.map((u) => u.id), added.map((a) => a.id), 'each chain completes once, in order');
    used.forEach((u, i) => {
      const a = added[i]!;
      assert.ok(u.len <= a.writableBytes, `used length ${u.len} > ${a.writableBytes} writable bytes`);
      // A chain the ring accepted (at most queue-size buffers) with a writable byte gets a status; a refused one gets 0.
      if (a.status !== null && a.buffers <= s.size) assert.ok(u.len >= 1, `chain ${i} completed without a status`);
      if (u.len > 0) assert.ok(([VIRTIO_BLK_S.OK, VIRTIO_BLK_S.IOERR, VIRTIO_BLK_S.UNSUPP] as number[]).includes(mem.readU8(a.status!)), `chain ${i}: status byte ${mem.readU8(a.status!)}`);
    });
    for (const c of disk.calls) {
      const at = BigInt(c.offset);
      const match = added.some(({ r }) => {
        // The data is what lies between header and status byte: at most payload + status bytes.
        const data = r.sector * BigInt(SECTOR) === at && c.length <= r.payload + r.statusLen;
        const range = r.dwz.sector * BigInt(SECTOR) === at && r.dwz.sectors * SECTOR === c.length;
        if (c.op === 'read') return r.type === VIRTIO_BLK_T.IN && data;
        // A write is an OUT, or write-zeroes done by writing zeroes where the file system cannot.
        if (c.op === 'write') return (r.type === VIRTIO_BLK_T.OUT && data) || (r.type === VIRTIO_BLK_T.WRITE_ZEROES && range);
        return (r.type === VIRTIO_BLK_T.WRITE_ZEROES || r.type === VIRTIO_BLK_T.DISCARD) && range;
      });
      assert.ok(match, `disk ${c.op} of ${c.length} bytes at ${c.offset} matches no request`);
    }
  }
  assert.deepEqual(mem.outside, []);
}

export const BLOCK_TARGETS: readonly FuzzTarget[] = [fuzzTarget('virtio-blk requests through the queue handler', 100, scenario, run)];
