import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VIRTIO_NET_HDR } from './constants.js';
import { NetRx, RX_SPILL_SIZE } from './rx.js';
import { FakeTap, LAYOUTS, TestRing, payload, withHeader, type Layout } from './net.fixture.js';

function setup(layout: Layout, mergeable: boolean, size = 16, gather?: number) {
  const ring = new TestRing(layout, size);
  const tap = new FakeTap();
  const lines: string[] = [];
  const rx = new NetRx(ring.mem, ring.queue, tap, { headerSize: VIRTIO_NET_HDR.SIZE, mergeable, ...(gather !== undefined ? { gather } : {}), log: (l) => lines.push(l) });
  return { ring, tap, rx, lines };
}

const numBuffers = (frame: Uint8Array): number => frame[VIRTIO_NET_HDR.NUM_BUFFERS]! | (frame[VIRTIO_NET_HDR.NUM_BUFFERS + 1]! << 8);

for (const layout of LAYOUTS) {
  test(`${layout}: one frame per chain without MRG_RXBUF; header split across buffers; num_buffers = 1`, () => {
    const t = setup(layout, false);
    const a = t.ring.addRx([5, 7, 2000]);
    const b = t.ring.addRx([1600], true);
    const f1 = withHeader(payload(1514, 1), { flags: 2, numBuffers: 0xbeef });
    const f2 = withHeader(payload(60, 2));
    t.tap.inbound.push(f1, f2);
    assert.equal(t.rx.process(), 2);
    const used = t.ring.takeUsed();
    assert.deepEqual(used, [{ id: a, len: f1.length }, { id: b, len: f2.length }]);
    const got = t.ring.received(a, f1.length);
    assert.equal(numBuffers(got), 1, 'num_buffers filled by the device');
    assert.deepEqual(got.subarray(0, 10), f1.subarray(0, 10), 'the TAP header passes through');
    assert.deepEqual(got.subarray(12), f1.subarray(12));
    assert.deepEqual(t.ring.received(a, f1.length + 1)[f1.length], 0xee, 'nothing written past the frame');
    assert.deepEqual(t.ring.received(b, f2.length).subarray(12), f2.subarray(12));
    assert.equal(t.rx.lastStop, 'no-buffers');
    assert.deepEqual(t.rx.stats, { frames: 2, bytes: 1514 + 60, dropped: 0, badChains: 0 });
  });

  test(`${layout}: MRG_RXBUF merges a frame across several small buffers`, () => {
    const t = setup(layout, true);
    const ids = [t.ring.addRx([1500]), t.ring.addRx([700, 800]), t.ring.addRx([1500]), t.ring.addRx([1500]), t.ring.addRx([1500])];
    const big = withHeader(payload(5000, 3));
    const small = withHeader(payload(100, 4));
    t.tap.inbound.push(big, small);
    assert.equal(t.rx.process(), 5);
    const used = t.ring.takeUsed();
    assert.deepEqual(used.map((u) => u.id), ids);
    assert.deepEqual(used.map((u) => u.len), [1500, 1500, 1500, 512, small.length]);
    const frames = t.ring.frames(used);
    assert.equal(frames.length, 2);
    assert.equal(numBuffers(frames[0]!), 4);
    assert.deepEqual(frames[0]!.subarray(12), big.subarray(12));
    assert.equal(numBuffers(frames[1]!), 1);
    assert.deepEqual(frames[1]!.subarray(12), small.subarray(12));
    assert.equal(t.rx.stats.frames, 2);
  });

  test(`${layout}: MRG_RXBUF keeps a half-delivered frame until the driver adds buffers; the TAP is not read meanwhile`, () => {
    const t = setup(layout, true);
    const a = t.ring.addRx([1500]);
    const b = t.ring.addRx([1500]);
    const big = withHeader(payload(4000, 5));
    const next = withHeader(payload(64, 6));
    t.tap.inbound.push(big, next);
    assert.equal(t.rx.process(), 0, 'nothing can complete yet');
    assert.equal(t.rx.starved, true);
    assert.equal(t.tap.reads, 1, 'only the first frame was read');
    assert.deepEqual(t.ring.takeUsed(), []);
    assert.equal(t.rx.process(), 0, 'a spurious call changes nothing');
    assert.equal(t.tap.reads, 1);
    const c = t.ring.addRx([1500]);
    const d = t.ring.addRx([1500]);
    assert.equal(t.rx.process(), 4);
    const used = t.ring.takeUsed();
    assert.deepEqual(used.map((u) => u.id), [a, b, c, d]);
    const frames = t.ring.frames(used);
    assert.deepEqual(frames.map((f) => f.length), [big.length, next.length]);
    assert.deepEqual(frames[0]!.subarray(12), big.subarray(12));
    assert.equal(numBuffers(frames[0]!), 3);
    assert.equal(t.rx.stats.dropped, 0, 'nothing dropped');
  });

  test(`${layout}: without buffers the device does not read the TAP`, () => {
    const t = setup(layout, false);
    t.tap.inbound.push(withHeader(payload(60, 7)));
    assert.equal(t.rx.process(), 0);
    assert.equal(t.rx.starved, true);
    assert.equal(t.tap.reads, 0);
    assert.equal(t.tap.inbound.length, 1, 'the frame waits in the TAP');
    t.ring.addRx([2048]);
    assert.equal(t.rx.process(), 1);
    assert.equal(t.rx.starved, true, 'used its only buffer');
    assert.equal(t.tap.inbound.length, 0);
  });

  test(`${layout}: without MRG_RXBUF a frame larger than the buffer is dropped and counted; the buffer serves the next frame`, () => {
    const t = setup(layout, false);
    const a = t.ring.addRx([600, 400]);
    t.tap.inbound.push(withHeader(payload(1500, 8)), withHeader(payload(900, 9)));
    assert.equal(t.rx.process(), 1);
    assert.equal(t.rx.stats.dropped, 1);
    const used = t.ring.takeUsed();
    assert.deepEqual(used, [{ id: a, len: 912 }]);
    assert.deepEqual(t.ring.received(a, 912).subarray(12), payload(900, 9));
    assert.match(t.lines[0]!, /does not fit the 1000-byte receive buffer/);
  });
}

test('malformed receive chains are returned unused and counted; good ones still work', () => {
  const t = setup('split', false);
  const readable = t.ring.add([{ len: 64 }, { len: 1600, write: true }]);
  const tiny = t.ring.addRx([8]);
  const outside = t.ring.add([{ gpa: 0x7f_ff00, len: 0x1000, write: true }]);
  const good = t.ring.addRx([1600]);
  const f = withHeader(payload(200, 10));
  t.tap.inbound.push(f);
  assert.equal(t.rx.process(), 4);
  assert.deepEqual(t.ring.takeUsed(), [
    { id: readable, len: 0 },
    { id: tiny, len: 0 },
    { id: outside, len: 0 },
    { id: good, len: f.length },
  ]);
  assert.equal(t.rx.stats.badChains, 3);
  assert.equal(t.lines.length, 3);
});

test('MRG_RXBUF: a frame larger than the whole ring is dropped and every buffer returned', () => {
  const t = setup('packed', true, 4);
  const ids = [t.ring.addRx([100]), t.ring.addRx([100]), t.ring.addRx([100]), t.ring.addRx([100])];
  t.tap.inbound.push(withHeader(payload(1000, 11), { numBuffers: 0x7777 }));
  assert.equal(t.rx.process(), 4);
  assert.deepEqual(t.ring.takeUsed(), ids.map((id) => ({ id, len: 0 })));
  assert.equal(t.rx.stats.dropped, 1);
  assert.equal(t.rx.stats.frames, 0);
  assert.equal(t.rx.heldChains, 0);
  assert.deepEqual(t.ring.received(ids[0]!, 12).subarray(10), new Uint8Array([0x77, 0x77]), 'no num_buffers written for a dropped frame');
});

test('runt frames and frames too long for buffers and spill are dropped', () => {
  const t = setup('split', false);
  const a = t.ring.addRx([256]);
  t.tap.inbound.push(new Uint8Array(VIRTIO_NET_HDR.SIZE), new Uint8Array(256 + RX_SPILL_SIZE + 10), withHeader(payload(20, 12)));
  assert.equal(t.rx.process(), 1);
  assert.equal(t.rx.stats.dropped, 2);
  assert.deepEqual(t.ring.takeUsed(), [{ id: a, len: 32 }]);
});

test('a frame budget bounds one call; the rest comes on the next', () => {
  const t = setup('split', true);
  for (let i = 0; i < 4; i++) t.ring.addRx([1600]);
  for (let i = 0; i < 3; i++) t.tap.inbound.push(withHeader(payload(100, i)));
  assert.equal(t.rx.process(2), 2);
  assert.equal(t.rx.lastStop, 'budget');
  assert.equal(t.rx.starved, false);
  assert.equal(t.rx.process(), 1);
  assert.equal(t.rx.lastStop, 'tap-empty');
  assert.equal(t.rx.heldChains, 1, 'one buffer held for the next frame');
  const frames = t.ring.frames(t.ring.takeUsed());
  assert.deepEqual(frames.map((f) => f.subarray(12)), [0, 1, 2].map((i) => payload(100, i)));
});

test('MRG_RXBUF: chains with more than IOV_MAX buffers in total still receive whole frames', () => {
  // 1000 chains of 2 x 16 bytes (2000 descriptors), all held before the read: more buffers than one readv takes.
  const t = setup('split', true, 2048, 1000 * 32);
  const ids: number[] = [];
  for (let i = 0; i < 1000; i++) ids.push(t.ring.addRx([16, 16]));
  const f = withHeader(payload(20000, 13));
  t.tap.inbound.push(f);
  assert.equal(t.rx.process(), Math.ceil(f.length / 32));
  const used = t.ring.takeUsed();
  assert.deepEqual(used.map((u) => u.id), ids.slice(0, used.length), 'buffers used in ring order');
  const frames = t.ring.frames(used);
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0]!.subarray(12), f.subarray(12));
  assert.deepEqual(frames[0]!.subarray(0, 10), f.subarray(0, 10));
  assert.equal(t.rx.heldChains, 1000 - Math.ceil(f.length / 32), 'the rest stay held');
});
