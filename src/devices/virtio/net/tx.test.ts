import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VIRTIO_F, featureBit } from '../constants.js';
import { MAX_TX_FRAME, VIRTIO_NET_F, VIRTIO_NET_HDR, VIRTIO_NET_HDR_F, VIRTIO_NET_HDR_GSO } from './constants.js';
import { NetTx } from './tx.js';
import { FakeTap, LAYOUTS, TestRing, payload, withHeader, type Layout } from './net.fixture.js';

const FEATURES = [VIRTIO_F.VERSION_1, VIRTIO_NET_F.CSUM, VIRTIO_NET_F.HOST_TSO4].reduce((a, b) => a | featureBit(b), 0n);

function setup(layout: Layout, size = 16) {
  const ring = new TestRing(layout, size);
  const tap = new FakeTap();
  const lines: string[] = [];
  const tx = new NetTx(ring.mem, ring.queue, tap, { headerSize: VIRTIO_NET_HDR.SIZE, features: FEATURES, log: (l) => lines.push(l) });
  return { ring, tap, tx, lines };
}

/** Splits `frame` into parts at the given offsets. */
function cut(frame: Uint8Array, ...at: number[]): Uint8Array[] {
  const edges = [0, ...at, frame.length];
  return edges.slice(1).map((end, i) => frame.slice(edges[i], end));
}

for (const layout of LAYOUTS) {
  test(`${layout}: multi-descriptor frames go out whole, header split anywhere, direct and indirect`, () => {
    const t = setup(layout);
    const f1 = withHeader(payload(1514, 1));
    const f2 = withHeader(payload(60, 2), { flags: VIRTIO_NET_HDR_F.NEEDS_CSUM, csumStart: 34, csumOffset: 6 });
    const f3 = withHeader(payload(MAX_TX_FRAME, 3), { flags: 1, gsoType: VIRTIO_NET_HDR_GSO.TCPV4, gsoSize: 1448, hdrLen: 54, csumStart: 34, csumOffset: 16 });
    const a = t.ring.addTx(cut(f1, 5, 12, 100));
    const b = t.ring.addTx(cut(f2, 12), true);
    const c = t.ring.addTx(cut(f3, 12, 30000));
    assert.equal(t.tx.process(), 3);
    assert.deepEqual(t.tap.written, [f1, f2, f3]);
    assert.deepEqual(t.ring.takeUsed(), [a, b, c].map((id) => ({ id, len: 0 })));
    assert.deepEqual(t.tx.stats, { frames: 3, bytes: 1514 + 60 + MAX_TX_FRAME, dropped: 0 });
    assert.equal(t.tx.blocked, false);
  });

  test(`${layout}: oversized, short, writable and malformed chains are dropped and counted; the queue goes on`, () => {
    const t = setup(layout);
    const ok = withHeader(payload(100, 4));
    const ids = [
      t.ring.addTx(cut(withHeader(payload(MAX_TX_FRAME + 1, 5)), 12)),
      t.ring.addTx([new Uint8Array(VIRTIO_NET_HDR.SIZE + 13)]),
      t.ring.add([{ len: 112, data: ok }, { len: 64, write: true }]),
      t.ring.add([{ gpa: 0x7f_ff00, len: 0x1000 }]),
      t.ring.addTx([withHeader(payload(100, 6), { gsoType: VIRTIO_NET_HDR_GSO.UDP, flags: 1, gsoSize: 1000 })]),
      t.ring.addTx([withHeader(payload(100, 7), { flags: VIRTIO_NET_HDR_F.DATA_VALID })]),
      t.ring.addTx([ok]),
    ];
    assert.equal(t.tx.process(), 7);
    assert.deepEqual(t.ring.takeUsed(), ids.map((id) => ({ id, len: 0 })));
    assert.deepEqual(t.tap.written, [ok]);
    assert.equal(t.tx.stats.dropped, 6);
    assert.equal(t.tx.stats.frames, 1);
    const reasons = [/exceeds header \+ 65536/, /shorter than header \+ Ethernet header/, /device-writable/, /outside guest RAM/, /GSO type 3 not supported/, /flags 0x2/];
    reasons.forEach((r, i) => assert.match(t.lines[i]!, r));
  });
}

test('a full TAP blocks TX without losing the frame; it is retried first', () => {
  const t = setup('split');
  const f1 = withHeader(payload(200, 8));
  const f2 = withHeader(payload(300, 9));
  const a = t.ring.addTx([f1]);
  const b = t.ring.addTx([f2]);
  t.tap.full = true;
  assert.equal(t.tx.process(), 0);
  assert.equal(t.tx.blocked, true);
  assert.deepEqual(t.ring.takeUsed(), []);
  assert.equal(t.tx.process(), 0, 'still full');
  t.tap.full = false;
  assert.equal(t.tx.process(), 2);
  assert.equal(t.tx.blocked, false);
  assert.deepEqual(t.tap.written, [f1, f2]);
  assert.deepEqual(t.ring.takeUsed().map((u) => u.id), [a, b]);
  assert.equal(t.tx.stats.dropped, 0);
});

test('frames the kernel refuses are dropped and counted', () => {
  const t = setup('packed');
  t.tap.failWith = Object.assign(new Error('writev: EINVAL (Invalid argument)'), { errno: 22 });
  const a = t.ring.addTx([withHeader(payload(64, 10))]);
  assert.equal(t.tx.process(), 1);
  assert.deepEqual(t.ring.takeUsed(), [{ id: a, len: 0 }]);
  assert.equal(t.tx.stats.dropped, 1);
  assert.match(t.lines[0]!, /refused a 76-byte frame: EINVAL/);
});

test('a TAP whose link is down (EIO): every frame dropped and counted, said once; said again only after it took frames', () => {
  const t = setup('split', 256);
  const eio = Object.assign(new Error('writev: EIO (Input/output error)'), { code: 'EIO' });
  t.tap.failWith = eio;
  for (let i = 0; i < 100; i++) t.ring.addTx([withHeader(payload(90, i))]);
  assert.equal(t.tx.process(), 100);
  assert.equal(t.tx.stats.dropped, 100);
  assert.equal(t.lines.length, 1, t.lines.join('\n'));
  assert.match(t.lines[0]!, /virtio-net: tx: the TAP's link is down \(EIO\): dropping and counting frames until it is up/);
  t.tap.failWith = null;
  t.ring.addTx([withHeader(payload(90, 200))]);
  assert.equal(t.tx.process(), 1);
  assert.equal(t.tap.written.length, 1);
  assert.equal(t.lines.length, 2);
  assert.match(t.lines[1]!, /virtio-net: tx: the TAP takes frames again \(100 dropped while its link was down\)/);
  t.tap.failWith = eio;
  t.ring.addTx([withHeader(payload(90, 201))]);
  t.tx.process();
  assert.equal(t.lines.length, 3, 'a new outage is said again');
  assert.equal(t.tx.stats.dropped, 101);
});

test('a budget bounds one call and `more` says to come back', () => {
  const t = setup('split');
  for (let i = 0; i < 5; i++) t.ring.addTx([withHeader(payload(60, i))]);
  assert.equal(t.tx.process(3), 3);
  assert.equal(t.tx.more, true);
  assert.equal(t.tx.process(3), 2);
  assert.equal(t.tx.more, false);
  assert.equal(t.tap.written.length, 5);
});

test('a chain with more buffers than IOV_MAX is copied into one frame', () => {
  const t = setup('split', 2048);
  const f = withHeader(payload(1200, 11));
  const parts = Array.from({ length: f.length }, (_, i) => f.subarray(i, i + 1));
  t.ring.add(parts.map((p) => ({ len: 1, data: p })), true);
  assert.equal(t.tx.process(), 1);
  assert.deepEqual(t.tap.written, [f]);
});
