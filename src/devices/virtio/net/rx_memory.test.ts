// virtio-net RX holds receive chains across frames, so its memory is the
// sum of what those chains hold. A hostile driver can make every chain as
// long as the queue (queue-size buffers, the most the rings accept): held
// naively that is size^2 Segment objects (a 32768 x 32768 worst case). The
// bound: NetRx stops taking chains once it holds queue-size buffers and each
// idle chain keeps at most RX_RETAINED_SEGMENTS objects, so it never keeps
// more than RX_SEGMENTS_PER_QUEUE_ENTRY x size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VIRTIO_NET_HDR } from './constants.js';
import { NetRx, RX_SEGMENTS_PER_QUEUE_ENTRY } from './rx.js';
import { FakeTap, LAYOUTS, TestRing, payload, withHeader } from './net.fixture.js';
import { RecordingMemory } from '../../../fuzz/guest_ram.js';
import { maxReadsPerPop } from '../queue.fuzz.js';

/** A TAP that samples the device's retained segments every time the device reads a frame (the moment it holds the most). */
class SamplingTap extends FakeTap {
  peak = 0;
  sample: () => number = () => 0;
  override read(into: Uint8Array[]): number {
    this.peak = Math.max(this.peak, this.sample());
    return super.read(into);
  }
}

for (const layout of LAYOUTS) {
  test(`${layout}: RX keeps at most ${RX_SEGMENTS_PER_QUEUE_ENTRY} x queue size segments when every chain has queue-size buffers`, () => {
    const size = 64;
    const ring = new TestRing(layout, size);
    const tap = new SamplingTap();
    const rx = new NetRx(ring.mem, ring.queue, tap, { headerSize: VIRTIO_NET_HDR.SIZE, mergeable: true, log: () => {} });
    tap.sample = () => rx.retainedSegments;
    const bound = RX_SEGMENTS_PER_QUEUE_ENTRY * size;
    let outstanding = 0;
    for (let round = 0; round < 3; round++) {
      // Refill the ring: chains of `size` one-byte buffers (indirect, one ring slot each).
      for (; outstanding < size; outstanding++) ring.addRx(new Array<number>(size).fill(1), true);
      for (let f = 0; f < 8; f++) tap.inbound.push(withHeader(payload(1500 + 7000 * f, round)));
      rx.process();
      outstanding -= ring.takeUsed().length;
      assert.ok(rx.retainedSegments <= bound, `round ${round}: ${rx.retainedSegments} segments kept after process(), bound ${bound}`);
    }
    assert.ok(tap.peak <= bound, `${tap.peak} segments held while reading a frame, bound ${bound}`);
    assert.ok(tap.peak >= size, `the workload did make the device hold long chains (peak ${tap.peak})`);
    assert.ok(rx.stats.dropped > 0, 'frames larger than what the device may hold are dropped');
  });

  test(`${layout}: ordinary one-buffer chains still carry 64 KiB frames under the segment bound`, () => {
    const size = 64;
    const ring = new TestRing(layout, size);
    const tap = new FakeTap();
    const rx = new NetRx(ring.mem, ring.queue, tap, { headerSize: VIRTIO_NET_HDR.SIZE, mergeable: true, gather: 65550, log: () => {} });
    for (let i = 0; i < size; i++) ring.addRx([1526]);
    const frame = withHeader(payload(65000, 9));
    tap.inbound.push(frame);
    rx.process();
    const frames = ring.frames(ring.takeUsed());
    assert.equal(frames.length, 1);
    assert.deepEqual(frames[0]!.subarray(12), frame.subarray(12));
    assert.equal(rx.stats.dropped, 0);
  });

  test(`${layout}: work per RX kick is bounded by the queue size (guest reads <= (size + 2) pops x maxReadsPerPop)`, () => {
    const size = 32;
    const mem = new RecordingMemory([{ gpa: 0, size: 0x80_0000 }]);
    const ring = new TestRing(layout, size, { mem });
    const tap = new FakeTap();
    const rx = new NetRx(ring.mem, ring.queue, tap, { headerSize: VIRTIO_NET_HDR.SIZE, mergeable: true, log: () => {} });
    for (let i = 0; i < size; i++) ring.addRx(new Array<number>(size).fill(1), true);
    for (let f = 0; f < 2 * size; f++) tap.inbound.push(withHeader(payload(3000, f)));
    mem.resetCounts();
    rx.process();
    assert.ok(mem.reads > 0);
    assert.ok(mem.reads <= (size + 2) * maxReadsPerPop(size), `${mem.reads} guest reads in one process() for a queue of ${size}`);
  });
}
