// Work per call is O(queue size) descriptors, whatever the chains look like:
// a ring full of queue-size chains of queue-size buffers (the most the rings
// accept) would be size^2 descriptors for one kick. Each device's process()
// stops once it took queue-size buffers (or chains), says `more`, and the
// worker calls it again (busy/resume); nothing is lost on the way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingMemory } from '../../fuzz/guest_ram.js';
import { maxReadsPerPop } from './queue.fuzz.js';
import { createSharedState, queueWord, QUEUE_WORD, SHARED } from './shared_state.js';
import type { InterruptSink } from './device.js';
import { LAYOUTS, FakeTap, TestRing, payload, withHeader } from './net/net.fixture.js';
import { NetTx } from './net/tx.js';
import { NetRx } from './net/rx.js';
import { VIRTIO_NET_HDR } from './net/constants.js';
import { BlockQueueHandler } from './block/queue_handler.js';
import { BlockExecutor } from './block/executor.js';
import type { BlockBackend } from './block/backend.js';
import { VIRTIO_BLK_T } from './block/constants.js';

const SIZE = 32;
/** Guest reads one call may make: two chains of queue-size buffers and their bookkeeping. */
const BOUND = 2 * maxReadsPerPop(SIZE) + 4 * SIZE;

const ram = (): RecordingMemory => new RecordingMemory([{ gpa: 0, size: 0x80_0000 }]);

/** `n` pieces of `bytes`, to spread one request over n buffers. */
function pieces(bytes: Uint8Array, n: number): Uint8Array[] {
  const step = Math.ceil(bytes.length / n);
  return Array.from({ length: n }, (_, i) => bytes.subarray(i * step, Math.min(bytes.length, (i + 1) * step))).filter((p) => p.length > 0);
}

for (const layout of LAYOUTS) {
  test(`${layout}: TX: one call takes at most queue-size buffers, and the rest follows`, () => {
    const mem = ram();
    const ring = new TestRing(layout, SIZE, { mem });
    const tap = new FakeTap();
    const tx = new NetTx(mem, ring.queue, tap, { headerSize: VIRTIO_NET_HDR.SIZE, features: 0n, log: () => {} });
    const frames = Array.from({ length: SIZE }, (_, i) => withHeader(payload(1400, i)));
    for (const f of frames) ring.addTx(pieces(f, SIZE), true);
    let calls = 0;
    do {
      mem.resetCounts();
      tx.process();
      calls++;
      assert.ok(mem.reads <= BOUND, `call ${calls}: ${mem.reads} guest reads, bound ${BOUND}`);
    } while (tx.more && calls < 10 * SIZE);
    assert.ok(calls > 1, 'the calls stopped at their budget');
    assert.deepEqual(tap.written, frames, 'every frame went out, in order');
    assert.equal(ring.takeUsed().length, SIZE);
  });

  test(`${layout}: RX: one call pops at most queue-size buffers, and the rest follows`, () => {
    const mem = ram();
    const ring = new TestRing(layout, SIZE, { mem });
    const tap = new FakeTap();
    const rx = new NetRx(mem, ring.queue, tap, { headerSize: VIRTIO_NET_HDR.SIZE, mergeable: true, log: () => {} });
    for (let i = 0; i < SIZE; i++) ring.addRx(new Array<number>(SIZE).fill(64), true);
    const frames = Array.from({ length: 8 }, (_, i) => withHeader(payload(1500, i)));
    tap.inbound.push(...frames);
    let calls = 0;
    do {
      mem.resetCounts();
      rx.process();
      calls++;
      assert.ok(mem.reads <= BOUND, `call ${calls}: ${mem.reads} guest reads, bound ${BOUND}`);
    } while (rx.more && calls < 10 * SIZE);
    assert.ok(calls > 1, 'the calls stopped at their budget');
    const got = ring.frames(ring.takeUsed());
    assert.deepEqual(got.map((f) => f.subarray(VIRTIO_NET_HDR.SIZE)), frames.map((f) => f.subarray(VIRTIO_NET_HDR.SIZE)));
  });

  test(`${layout}: virtio-blk: one call takes at most queue-size buffers, and the rest follows`, () => {
    const mem = ram();
    const ring = new TestRing(layout, SIZE, { mem });
    const state = createSharedState(1, false);
    Atomics.store(state, SHARED.STATUS, 0x0f);
    Atomics.store(state, queueWord(0, QUEUE_WORD.VECTOR), 1);
    let interrupts = 0;
    const sink: InterruptSink = { queue: () => void interrupts++, config: () => {} };
    let reads = 0;
    const disk: BlockBackend = { read: (t) => void (reads += t.bytes(0)), write: () => {}, flush: () => {} };
    const device = new BlockExecutor({ size: 1 << 20, readOnly: false, serial: 'x', queueSize: SIZE });
    const handler = new BlockQueueHandler(mem, ring.queue, 0, device, disk, state, sink, () => {});
    const header = new Uint8Array(16);
    new DataView(header.buffer).setUint32(0, VIRTIO_BLK_T.IN, true);
    // Header, queue-size - 2 data buffers of 512 bytes, status: queue-size buffers a chain.
    for (let i = 0; i < SIZE; i++) ring.add([{ len: 16, data: header }, ...Array.from({ length: SIZE - 2 }, () => ({ len: 512, write: true })), { len: 1, write: true }], true);
    let calls = 0;
    do {
      mem.resetCounts();
      handler.process();
      calls++;
      assert.ok(mem.reads <= BOUND, `call ${calls}: ${mem.reads} guest reads, bound ${BOUND}`);
    } while (handler.more && calls < 10 * SIZE);
    assert.ok(calls > 1, 'the calls stopped at their budget');
    assert.equal(ring.takeUsed().length, SIZE);
    assert.equal(reads, SIZE * (SIZE - 2) * 512);
    assert.ok(interrupts >= 1);
  });
}
