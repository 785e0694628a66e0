// Fuzz targets for the split and packed virtqueues with a well-behaved driver
// (the mock in mock_driver.fixture.ts): random batches of chains, direct or indirect, with
// random buffer splits, used lengths and interrupt / notification settings.
//
// Invariants:
// - every chain the driver made comes out of pop() once, in order, with the
//   same buffers (address, length, direction), and nothing else does;
// - the driver reads back exactly the ids and lengths the device returned;
// - no lost interrupt: when the driver asked for one (flags clear, used_event
//   or the packed event at what it has seen), needsInterrupt() says so after
//   a batch; when it suppressed them it is not interrupted (after the first
//   batch, which EVENT_IDX always signals);
// - after enableNotifications() on an empty ring the driver sees that it
//   must kick (NO_NOTIFY clear, avail_event at the device's position, or the
//   packed device event enabled) and nothing is pending;
// - the device writes nothing but its own ring areas.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecordingMemory } from '../../fuzz/guest_ram.js';
import { fuzzTarget, type FuzzTarget } from '../../fuzz/target.js';
import { PACKED } from './constants.js';
import { PackedDriver, SplitDriver, type MockBuffer, type UsedElement } from './mock_driver.fixture.js';
import { DescriptorChain, type Virtqueue } from './queue.js';
import { ringLayout, type RingLayout } from './queue.fuzz.js';
import { PackedQueue } from './queue_packed.js';
import { SplitQueue } from './queue_split.js';

/** Rings at 0x1000 (as ringLayout), indirect tables from the allocator, data buffers in region 1. */
const ALLOC_START = 0x2000;
const ALLOC_END = 0x8000;
const DATA = 0x1_0000;
const MAX_BUFFERS = 6;

interface ChainSpec {
  readonly buffers: ReadonlyArray<{ readonly offset: number; readonly len: number; readonly write: boolean }>;
  readonly indirect: boolean;
  readonly usedLen: number;
}

interface Batch {
  readonly chains: readonly ChainSpec[];
  /** Ask for an interrupt after this batch (else suppress it). */
  readonly wantInterrupt: boolean;
}

interface Scenario {
  readonly layout: RingLayout;
  readonly size: number;
  readonly eventIdx: boolean;
  readonly indirect: boolean;
  readonly batches: readonly Batch[];
}

function chainSpec(size: number, indirect: boolean): fc.Arbitrary<ChainSpec> {
  const buffer = fc.record({ offset: fc.nat({ max: 0x7000 }), len: fc.integer({ min: 1, max: 256 }), write: fc.boolean() });
  return fc.record({
    // Readable buffers first, as a driver must lay them out.
    buffers: fc.array(buffer, { minLength: 1, maxLength: Math.min(size, MAX_BUFFERS) }).map((b) => [...b.filter((x) => !x.write), ...b.filter((x) => x.write)]),
    indirect: indirect ? fc.boolean() : fc.constant(false),
    usedLen: fc.nat({ max: 0x1_0000 }),
  });
}

/** Ring descriptors a chain takes: one for an indirect table. */
const ringSlots = (c: ChainSpec): number => (c.indirect ? 1 : c.buffers.length);

function scenario(layout: RingLayout): fc.Arbitrary<Scenario> {
  const sizes = layout === 'split' ? fc.constantFrom(1, 2, 4, 8, 16, 32) : fc.integer({ min: 1, max: 32 });
  return fc.record({ size: sizes, eventIdx: fc.boolean(), indirect: fc.boolean() }).chain(({ size, eventIdx, indirect }) =>
    fc.record({
      layout: fc.constant(layout),
      size: fc.constant(size),
      eventIdx: fc.constant(eventIdx),
      indirect: fc.constant(indirect),
      batches: fc.array(
        fc.record({
          // At most `size` ring descriptors outstanding: the driver owns no more.
          chains: fc.array(chainSpec(size, indirect), { maxLength: size }).map((cs) => {
            let slots = 0;
            return cs.filter((c) => (slots += ringSlots(c)) <= size);
          }),
          wantInterrupt: fc.boolean(),
        }),
        { minLength: 1, maxLength: 5 },
      ),
    }),
  );
}

/** The driver side, either layout, behind one shape. */
interface Driver {
  add(buffers: MockBuffer[], indirect: boolean): number;
  takeUsed(): UsedElement[];
  /** Asks for (or suppresses) an interrupt once what it has seen so far is passed. */
  interrupts(want: boolean, eventIdx: boolean, seen: number): void;
  /** Whether the device asked for kicks, after enableNotifications() on an empty ring. */
  kicksEnabled(eventIdx: boolean, queue: Virtqueue): boolean;
}

function splitDriver(mem: RecordingMemory, size: number): { driver: Driver; queueLayout: SplitDriver['layout'] } {
  const d = new SplitDriver(mem, size, 0x1000, ALLOC_START, ALLOC_END);
  let usedSeen = 0;
  return {
    queueLayout: d.layout,
    driver: {
      add: (buffers, indirect) => d.addChain(buffers, { indirect }),
      takeUsed: () => {
        const used = d.takeUsed();
        usedSeen = (usedSeen + used.length) & 0xffff;
        return used;
      },
      interrupts: (want, eventIdx) => {
        if (eventIdx) d.setUsedEvent(want ? usedSeen : (usedSeen + 0x8000) & 0xffff);
        else d.setNoInterrupt(!want);
      },
      kicksEnabled: (eventIdx, queue) => (eventIdx ? d.availEvent() === (queue as SplitQueue).nextAvailIndex : !d.noNotify()),
    },
  };
}

function packedDriver(mem: RecordingMemory, size: number): { driver: Driver; queueLayout: PackedDriver['layout'] } {
  const d = new PackedDriver(mem, size, 0x1000, ALLOC_START, ALLOC_END);
  return {
    queueLayout: d.layout,
    driver: {
      add: (buffers, indirect) => d.addChain(buffers, { indirect }),
      takeUsed: () => d.takeUsed(),
      interrupts: (want, eventIdx) => {
        if (!want) d.setDriverEvent(PACKED.EVENT_FLAGS_DISABLE);
        else if (eventIdx) d.setDriverEvent(PACKED.EVENT_FLAGS_DESC, d.usedPosition());
        else d.setDriverEvent(PACKED.EVENT_FLAGS_ENABLE);
      },
      kicksEnabled: (eventIdx, queue) => {
        const { flags, offWrap } = d.deviceEvent();
        const q = queue as PackedQueue;
        if (!eventIdx) return flags === PACKED.EVENT_FLAGS_ENABLE;
        return flags === PACKED.EVENT_FLAGS_DESC && offWrap === (q.nextAvailIndex | (q.availWrapCounter ? 0x8000 : 0));
      },
    },
  };
}

function run(s: Scenario): void {
  const mem = new RecordingMemory();
  const { driver, queueLayout } = s.layout === 'split' ? splitDriver(mem, s.size) : packedDriver(mem, s.size);
  const features = { eventIdx: s.eventIdx, indirect: s.indirect };
  const queue: Virtqueue = s.layout === 'split' ? new SplitQueue(mem, queueLayout, features) : new PackedQueue(mem, queueLayout, features);
  const { deviceOwned } = ringLayout(s.layout, s.size);
  const chain = new DescriptorChain();
  s.batches.forEach((batch, b) => {
    const ids = batch.chains.map((c) => driver.add(c.buffers.map((x) => ({ gpa: DATA + x.offset, len: x.len, write: x.write })), c.indirect));
    driver.interrupts(batch.wantInterrupt, s.eventIdx, 0);
    const before = mem.snapshot();
    queue.disableNotifications();
    batch.chains.forEach((c, i) => {
      assert.equal(queue.pop(chain), true, `batch ${b}: chain ${i} of ${batch.chains.length} did not pop`);
      assert.equal(chain.id, ids[i]);
      const got = [...chain.readableSegments().map((x) => ({ gpa: x.gpa, len: x.len, write: false })), ...chain.writableSegments().map((x) => ({ gpa: x.gpa, len: x.len, write: true }))];
      assert.deepEqual(got, c.buffers.map((x) => ({ gpa: DATA + x.offset, len: x.len, write: x.write })));
      queue.addUsed(chain, c.usedLen);
    });
    assert.equal(queue.pop(chain), false, `batch ${b}: more chains than the driver made`);
    const interrupt = queue.needsInterrupt();
    assert.equal(queue.enableNotifications(), false, 'nothing pending after the drain');
    assert.equal(driver.kicksEnabled(s.eventIdx, queue), true, 'the driver is asked to kick again');
    assert.equal(mem.changedOutside(before, deviceOwned), null);
    assert.deepEqual(driver.takeUsed(), batch.chains.map((c, i) => ({ id: ids[i], len: c.usedLen })));
    if (batch.chains.length > 0 && batch.wantInterrupt) assert.equal(interrupt, true, `batch ${b}: lost interrupt`);
    // EVENT_IDX signals the first batch whatever used_event says (the device has no baseline yet).
    if (!batch.wantInterrupt && (b > 0 || !s.eventIdx)) assert.equal(interrupt, false, `batch ${b}: interrupt the driver suppressed`);
  });
  assert.deepEqual(mem.outside, []);
}

export const QUEUE_ROUNDTRIP_TARGETS: readonly FuzzTarget[] = [
  fuzzTarget('virtio split ring, well-behaved driver', 100, scenario('split'), run),
  fuzzTarget('virtio packed ring, well-behaved driver', 100, scenario('packed'), run),
];
