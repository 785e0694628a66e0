// Fuzz targets for the split and packed virtqueues, device side, against a
// hostile driver: random descriptor tables and rings, indirect tables,
// indices, flags and event suppression, rewritten by the "driver" between
// device calls. Driven through the device API (pop, addUsed, needsInterrupt,
// enable/disableNotifications) over a RecordingMemory with holes.
//
// Invariants (queue.ts states the contract):
// - pop() throws only DescriptorChainError (one bad chain: the device returns
//   it with length 0 and goes on) or VirtqueueError (the ring is unusable:
//   the device stops using it); nothing else throws anything;
// - no access is attempted outside guest RAM, and the only bytes that change
//   are the device's: the used ring (split), the descriptor ring and the
//   device event area (packed);
// - work is bounded by the queue size: one pop() reads at most
//   maxReadsPerPop(size) times, a chain has at most `size` buffers, each
//   inside guest RAM, and draining a ring the driver does not touch meanwhile
//   pops at most `size` chains;
// - a split chain's id is a head index below the queue size.
// Placement: the constructors throw only QueueConfigError.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { flagBits, guestAddress, guestLength, u16, u32 } from '../../fuzz/arbitraries.js';
import { RecordingMemory, type Range } from '../../fuzz/guest_ram.js';
import { fuzzTarget, type FuzzTarget } from '../../fuzz/target.js';
import { PACKED, SPLIT, VIRTQ_DESC_F } from './constants.js';
import { DescriptorChain, DescriptorChainError, QueueConfigError, VirtqueueError, type QueueLayout, type Virtqueue } from './queue.js';
import { PackedQueue } from './queue_packed.js';
import { SplitQueue, splitRingSizes } from './queue_split.js';

/**
 * Guest-memory reads one pop() may make: a chain has at most `size` buffers
 * (virtio 1.2 §2.7.5.3.1, direct and indirect together) plus the descriptor
 * pointing at an indirect table; each costs at most 6 reads (split: address
 * halves, length, flags, next; packed: id and flags in the first pass, flags,
 * address halves and length in the second), and the ring head 2 more.
 */
export const maxReadsPerPop = (size: number): number => 6 * (size + 1) + 2;

/** Where the fuzz driver puts its rings and indirect tables (inside FUZZ_RAM; the last table ends 0x1000 before the end of region 1). */
const RING_BASE = 0x1000;
const TABLES = [0x4000, 0x5000, 0x6000, 0x1_6000] as const;
const MAX_SIZE = 32;

export type RingLayout = 'split' | 'packed';

export interface RawDescriptor {
  readonly addr: bigint;
  readonly len: number;
  readonly flags: number;
  /** Split: next index. */
  readonly next: number;
  /** Packed: buffer id. */
  readonly id: number;
}

type Op =
  | { readonly kind: 'pop'; readonly addUsed: boolean; readonly len: number }
  | { readonly kind: 'drain'; readonly len: number }
  | { readonly kind: 'interrupt' | 'enable' | 'disable' }
  | { readonly kind: 'desc'; readonly index: number; readonly desc: RawDescriptor }
  | { readonly kind: 'table'; readonly table: number; readonly index: number; readonly desc: RawDescriptor }
  | { readonly kind: 'driverWord'; readonly index: number; readonly value: number };

interface Scenario {
  readonly layout: RingLayout;
  readonly size: number;
  readonly eventIdx: boolean;
  readonly indirect: boolean;
  readonly ring: readonly RawDescriptor[];
  /** Indirect tables; a linked one is a proper chain (NEXT to i + 1 but the last), as a driver builds it. */
  readonly tables: ReadonlyArray<{ readonly linked: boolean; readonly entries: readonly RawDescriptor[] }>;
  /** Split: avail flags, idx, ring[size], used_event. Packed: driver area off_wrap, flags. */
  readonly driverWords: readonly number[];
  readonly ops: readonly Op[];
}

const { NEXT, WRITE, INDIRECT } = VIRTQ_DESC_F;

/** A ring or table descriptor: mostly a plausible buffer or indirect descriptor, sometimes anything. */
export function rawDescriptor(size: number, layout: RingLayout): fc.Arbitrary<RawDescriptor> {
  const next = fc.oneof({ weight: 6, arbitrary: fc.nat({ max: size - 1 }) }, { weight: 1, arbitrary: u16() });
  const id = fc.oneof(fc.nat({ max: size - 1 }), u16());
  const buffer = fc.record({ addr: guestAddress(), len: guestLength(), flags: flagBits([NEXT, WRITE]), next, id });
  const indirect = fc.record({
    addr: fc.tuple(fc.constantFrom(...TABLES), fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 0x20 }) })).map(([t, d]) => BigInt(t + d)),
    len: fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 2 * size + 4 }).map((n) => n * 16) }, { weight: 1, arbitrary: guestLength() }),
    flags: fc.oneof({ weight: 4, arbitrary: fc.constant(INDIRECT) }, { weight: 1, arbitrary: flagBits([NEXT, WRITE]).map((f) => f | INDIRECT) }),
    next,
    id,
  });
  const anything = fc.record({ addr: fc.oneof(guestAddress(), fc.constantFrom(...TABLES).map(BigInt)), len: guestLength(), flags: u16(), next: u16(), id: u16() });
  const d = fc.oneof({ weight: 4, arbitrary: buffer }, { weight: 2, arbitrary: indirect }, { weight: 1, arbitrary: anything });
  if (layout === 'split') return d;
  // Packed: mostly "available in the first lap" (AVAIL set, USED clear), sometimes other wrap bits.
  return fc.tuple(d, fc.oneof({ weight: 3, arbitrary: fc.constant(PACKED.F_AVAIL) }, { weight: 1, arbitrary: fc.constantFrom(0, PACKED.F_USED, PACKED.F_AVAIL | PACKED.F_USED) })).map(
    ([r, wrap]) => ({ ...r, flags: (r.flags & ~(PACKED.F_AVAIL | PACKED.F_USED)) | wrap }),
  );
}

function driverWords(layout: RingLayout, size: number): fc.Arbitrary<number[]> {
  if (layout === 'packed') return fc.tuple(u16(), fc.oneof(fc.nat({ max: 3 }), u16()));
  const small = (max: number) => fc.oneof({ weight: 4, arbitrary: fc.nat({ max }) }, { weight: 1, arbitrary: u16() });
  const idx = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: size }) }, { weight: 1, arbitrary: small(size + 2) });
  return fc.tuple(small(1), idx, fc.array(small(size - 1), { minLength: size, maxLength: size }), u16()).map(([f, idx, ring, ev]) => [f, idx, ...ring, ev]);
}

function op(layout: RingLayout, size: number, words: number): fc.Arbitrary<Op> {
  const desc = rawDescriptor(size, layout);
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('pop' as const), addUsed: fc.boolean(), len: fc.oneof(fc.nat({ max: 64 }), u32()) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('drain' as const), len: fc.nat({ max: 64 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('interrupt' as const, 'enable' as const, 'disable' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('desc' as const), index: fc.nat({ max: size - 1 }), desc }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('table' as const), table: fc.nat({ max: TABLES.length - 1 }), index: fc.nat({ max: 2 * size + 3 }), desc }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('driverWord' as const), index: fc.nat({ max: words - 1 }), value: u16() }) },
  );
}

function scenario(layout: RingLayout): fc.Arbitrary<Scenario> {
  const sizes = layout === 'split' ? fc.constantFrom(1, 2, 4, 8, 16, 32) : fc.integer({ min: 1, max: MAX_SIZE });
  return sizes.chain((size) =>
    fc.record({
      layout: fc.constant(layout),
      size: fc.constant(size),
      eventIdx: fc.boolean(),
      indirect: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      ring: fc.array(rawDescriptor(size, layout), { minLength: size, maxLength: size }),
      tables: fc.array(fc.record({ linked: fc.boolean(), entries: fc.array(rawDescriptor(size, layout), { maxLength: 2 * size + 4, size: 'max' }) }), { minLength: TABLES.length, maxLength: TABLES.length }),
      driverWords: driverWords(layout, size),
      ops: fc.array(op(layout, size, layout === 'split' ? size + 3 : 2), { minLength: 1, maxLength: 24 }),
    }),
  );
}

export function writeDescriptor(mem: RecordingMemory, at: number, d: RawDescriptor, layout: RingLayout): void {
  mem.writeU64(at, d.addr);
  mem.writeU32(at + SPLIT.DESC_LEN, d.len);
  if (layout === 'split') {
    mem.writeU16(at + SPLIT.DESC_FLAGS, d.flags);
    mem.writeU16(at + SPLIT.DESC_NEXT, d.next);
  } else {
    mem.writeU16(at + PACKED.DESC_ID, d.id);
    mem.writeU16(at + PACKED.DESC_FLAGS, d.flags);
  }
}

/** The rings of a queue of `size` at RING_BASE, and the ranges the device may write. */
export function ringLayout(layout: RingLayout, size: number): { layout: QueueLayout; deviceOwned: Range[] } {
  if (layout === 'split') {
    const s = splitRingSizes(size);
    const driver = RING_BASE + s.desc;
    const device = Math.ceil((driver + s.avail) / SPLIT.USED_ALIGN) * SPLIT.USED_ALIGN;
    return { layout: { size, desc: RING_BASE, driver, device }, deviceOwned: [{ start: device, end: device + s.used }] };
  }
  const driver = RING_BASE + size * PACKED.DESC_SIZE;
  const device = driver + PACKED.EVENT_SIZE;
  return {
    layout: { size, desc: RING_BASE, driver, device },
    deviceOwned: [
      { start: RING_BASE, end: driver },
      { start: device, end: device + PACKED.EVENT_SIZE },
    ],
  };
}

export type PopOutcome = 'empty' | 'chain' | 'bad' | 'broken';

/** One pop() under the invariants above. */
export function popChecked(queue: Virtqueue, chain: DescriptorChain, mem: RecordingMemory, layout: RingLayout): PopOutcome {
  const size = queue.size;
  mem.resetCounts();
  let outcome: PopOutcome;
  try {
    outcome = queue.pop(chain) ? 'chain' : 'empty';
  } catch (err) {
    if (err instanceof DescriptorChainError) outcome = 'bad';
    else if (err instanceof VirtqueueError) outcome = 'broken';
    else throw err;
  }
  assert.ok(mem.reads <= maxReadsPerPop(size), `pop() read guest memory ${mem.reads} times, more than ${maxReadsPerPop(size)} for a queue of ${size} (${outcome})`);
  if (outcome === 'chain') {
    const segments = [...chain.readableSegments(), ...chain.writableSegments()];
    assert.ok(segments.length <= size, `a chain of ${segments.length} buffers in a queue of ${size}`);
    for (const s of segments) assert.ok(mem.contains(s.gpa, s.len), `buffer 0x${s.gpa.toString(16)}+${s.len} outside guest RAM`);
    assert.equal(chain.readableLength, chain.readableSegments().reduce((n, s) => n + s.len, 0));
    assert.equal(chain.writableLength, chain.writableSegments().reduce((n, s) => n + s.len, 0));
  }
  if (layout === 'split' && (outcome === 'chain' || outcome === 'bad')) assert.ok(chain.id < size, `split chain id ${chain.id} >= size ${size}`);
  return outcome;
}

/** Entry i of a well-formed table of n: NEXT to i + 1, the last ends the chain; no INDIRECT inside. */
function link(d: RawDescriptor, i: number, n: number): RawDescriptor {
  const last = i + 1 === n;
  const flags = (d.flags & ~(NEXT | INDIRECT)) | (last ? 0 : NEXT);
  return { ...d, flags, next: last ? 0 : i + 1 };
}

function writeDriverWord(mem: RecordingMemory, layout: QueueLayout, index: number, value: number): void {
  mem.writeU16(layout.driver + 2 * index, value);
}

function run(s: Scenario): void {
  const mem = new RecordingMemory();
  const { layout, deviceOwned } = ringLayout(s.layout, s.size);
  s.ring.forEach((d, i) => writeDescriptor(mem, layout.desc + i * SPLIT.DESC_SIZE, d, s.layout));
  s.tables.forEach((t, k) => t.entries.forEach((d, i) => writeDescriptor(mem, TABLES[k]! + i * SPLIT.DESC_SIZE, t.linked ? link(d, i, t.entries.length) : d, s.layout)));
  s.driverWords.forEach((w, i) => writeDriverWord(mem, layout, i, w));
  const features = { eventIdx: s.eventIdx, indirect: s.indirect };
  const queue: Virtqueue = s.layout === 'split' ? new SplitQueue(mem, layout, features) : new PackedQueue(mem, layout, features);
  const chain = new DescriptorChain();
  let before = mem.snapshot();
  const checkWrites = (): void => assert.equal(mem.changedOutside(before, deviceOwned), null);
  const driverWrite = (write: () => void): void => {
    checkWrites();
    write();
    before = mem.snapshot();
  };
  ops: for (const o of s.ops) {
    switch (o.kind) {
      case 'pop': {
        const r = popChecked(queue, chain, mem, s.layout);
        if (r === 'broken') break ops;
        if (r === 'bad' || (r === 'chain' && o.addUsed)) queue.addUsed(chain, r === 'bad' ? 0 : o.len);
        break;
      }
      case 'drain':
        for (let pops = 0; ; pops++) {
          const r = popChecked(queue, chain, mem, s.layout);
          if (r === 'empty') break;
          if (r === 'broken') break ops;
          assert.ok(pops < s.size, `drained more than ${s.size} chains from a ring of ${s.size} the driver did not touch`);
          queue.addUsed(chain, r === 'bad' ? 0 : o.len);
        }
        break;
      case 'interrupt':
        queue.needsInterrupt();
        break;
      case 'enable':
        queue.enableNotifications();
        break;
      case 'disable':
        queue.disableNotifications();
        break;
      case 'desc':
        driverWrite(() => writeDescriptor(mem, layout.desc + o.index * SPLIT.DESC_SIZE, o.desc, s.layout));
        break;
      case 'table':
        driverWrite(() => writeDescriptor(mem, TABLES[o.table]! + o.index * SPLIT.DESC_SIZE, o.desc, s.layout));
        break;
      case 'driverWord':
        driverWrite(() => writeDriverWord(mem, layout, o.index, o.value));
        break;
    }
  }
  checkWrites();
  assert.deepEqual(mem.outside, [], 'accesses outside guest RAM');
}

/** Any placement the transport may hand over: the constructor accepts it or throws QueueConfigError. */
function placement(): fc.Arbitrary<{ layout: RingLayout; q: QueueLayout; eventIdx: boolean }> {
  const where = fc.oneof(fc.nat({ max: 0x1_8100 }), fc.constantFrom(0x7ff0, 0x8000, 0xfffe, 0x1_7ff0, 2 ** 53, 2 ** 64 - 1), fc.double({ min: 0, max: 2 ** 64, noNaN: true }));
  const size = fc.oneof(fc.integer({ min: 0, max: 0x1_0000 }), fc.constantFrom(1, 256, 32768, 32769, 0.5, -1));
  return fc.record({
    layout: fc.constantFrom('split' as const, 'packed' as const),
    q: fc.record({ size, desc: where, driver: where, device: where }),
    eventIdx: fc.boolean(),
  });
}

function construct(p: { layout: RingLayout; q: QueueLayout; eventIdx: boolean }): void {
  const mem = new RecordingMemory();
  const features = { eventIdx: p.eventIdx, indirect: true };
  try {
    const queue = p.layout === 'split' ? new SplitQueue(mem, p.q, features) : new PackedQueue(mem, p.q, features);
    assert.ok(queue.size >= 1 && Number.isInteger(queue.size));
    // A queue that was accepted works: an empty ring pops nothing.
    queue.enableNotifications();
  } catch (err) {
    if (!(err instanceof QueueConfigError)) throw err;
  }
  assert.deepEqual(mem.outside, []);
}

export const QUEUE_TARGETS: readonly FuzzTarget[] = [
  fuzzTarget('virtio split ring, hostile driver', 100, scenario('split'), run),
  fuzzTarget('virtio packed ring, hostile driver', 100, scenario('packed'), run),
  fuzzTarget('virtqueue placement', 200, placement(), construct),
];
