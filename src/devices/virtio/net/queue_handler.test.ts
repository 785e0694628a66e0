import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../../memory/guest_memory.js';
import { native } from '../../../native/addon.js';
import { POLL } from '../../../native/linux.js';
import { VIRTIO_F, VIRTIO_STATUS, featureBit } from '../constants.js';
import type { InterruptSink } from '../device.js';
import { QUEUE_WORD, SHARED, createSharedState, queueWord } from '../shared_state.js';
import { VIRTIO_NET_F, VIRTIO_NET_QUEUE } from './constants.js';
import { FdPacketIo } from './packet_io.js';
import { NetQueueHandler } from './queue_handler.js';
import { LAYOUTS, RAM, TestRing, payload, withHeader, type Layout } from './net.fixture.js';

/** socket(2) constants (include/linux/socket.h, asm-generic/socket.h; the same on x86_64 and arm64). */
const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_NONBLOCK = 0o4000;

const VECTOR = { RX: 1, TX: 2 } as const;

function setup(layout: Layout, mergeable: boolean, txSize = 16) {
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(RAM) }]);
  const rxRing = new TestRing(layout, 16, { mem, base: 0x1000, dataBase: 0x10_0000, dataEnd: 0x18_0000 });
  const txRing = new TestRing(layout, txSize, { mem, base: 0x9000, dataBase: 0x18_0000, dataEnd: 0x40_0000 });
  const state = createSharedState(2, false);
  Atomics.store(state, SHARED.STATUS, 0x0f);
  Atomics.store(state, queueWord(VIRTIO_NET_QUEUE.RX, QUEUE_WORD.VECTOR), VECTOR.RX);
  Atomics.store(state, queueWord(VIRTIO_NET_QUEUE.TX, QUEUE_WORD.VECTOR), VECTOR.TX);
  const interrupts: string[] = [];
  const sink: InterruptSink = { queue: (v) => interrupts.push(`q${v}`), config: () => interrupts.push('config') };
  // A mock TAP: SOCK_SEQPACKET keeps frame boundaries like a TAP fd does.
  const [vmmEnd, hostEnd] = native.socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK);
  let features = featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_NET_F.CSUM);
  if (mergeable) features |= featureBit(VIRTIO_NET_F.MRG_RXBUF);
  const lines: string[] = [];
  const handler = new NetQueueHandler(mem, rxRing.queue, txRing.queue, new FdPacketIo(vmmEnd), features, state, sink, (l) => lines.push(l));
  const hostSend = (frame: Uint8Array): void => assert.equal(native.write(hostEnd, frame), frame.length);
  const hostReceive = (): Uint8Array[] => {
    const out: Uint8Array[] = [];
    const buf = new Uint8Array(70000);
    for (let n; (n = native.read(hostEnd, buf)) > 0; ) out.push(buf.slice(0, n));
    return out;
  };
  const readable = (): boolean => {
    const pfd = Buffer.alloc(8);
    pfd.writeInt32LE(vmmEnd, 0);
    pfd.writeInt16LE(POLL.IN, 4);
    return native.poll(pfd, 0) === 1;
  };
  const close = (): void => {
    native.close(vmmEnd);
    native.close(hostEnd);
  };
  return { mem, rxRing, txRing, state, interrupts, handler, hostSend, hostReceive, readable, close, lines };
}

for (const layout of LAYOUTS) {
  for (const mergeable of [true, false]) {
    test(`${layout}${mergeable ? ', MRG_RXBUF' : ''}: frames both ways through a socketpair TAP, with the poll contract`, () => {
      const t = setup(layout, mergeable);
      try {
        // No RX buffers yet: frames from the host wait in the TAP, which is left out of poll.
        const inbound = [withHeader(payload(60, 1)), withHeader(payload(1514, 2)), withHeader(payload(1000, 3))];
        for (const f of inbound) t.hostSend(f);
        assert.equal(t.handler.processRx(), 0);
        assert.equal(t.handler.tapEvents() & POLL.IN, 0, 'starved: do not poll the TAP for POLLIN');
        assert.equal(t.readable(), true, 'the frames are still in the TAP');

        // TX works while RX is starved.
        const outbound = [withHeader(payload(100, 4)), withHeader(payload(3000, 5))];
        t.txRing.addTx([outbound[0]!]);
        t.txRing.addTx([outbound[1]!.subarray(0, 12), outbound[1]!.subarray(12, 500), outbound[1]!.subarray(500)]);
        assert.equal(t.handler.processTx(), 2);
        assert.deepEqual(t.hostReceive(), outbound);
        assert.deepEqual(t.interrupts, [`q${VECTOR.TX}`]);

        // The guest posts buffers and kicks RX: the waiting frames arrive, in order.
        for (let i = 0; i < 4; i++) t.rxRing.addRx([1600]);
        assert.equal(t.handler.processRx(), 3);
        assert.deepEqual(t.interrupts, [`q${VECTOR.TX}`, `q${VECTOR.RX}`]);
        const got = t.rxRing.frames(t.rxRing.takeUsed());
        assert.deepEqual(got.map((f) => f.subarray(12)), inbound.map((f) => f.subarray(12)));
        assert.equal(t.handler.tapEvents(), POLL.IN, 'holding a buffer: wait for frames');
        assert.equal(t.readable(), false);

        // A frame larger than one buffer: merged with MRG_RXBUF, dropped without.
        for (let i = 0; i < 6; i++) t.rxRing.addRx([1600]);
        const big = withHeader(payload(8000, 6));
        t.hostSend(big);
        t.hostSend(withHeader(payload(42, 7)));
        t.handler.processRx();
        const after = t.rxRing.frames(t.rxRing.takeUsed());
        if (mergeable) {
          assert.deepEqual(after.map((f) => f.length), [big.length, 54]);
          assert.deepEqual(after[0]!.subarray(12), big.subarray(12));
        } else {
          assert.deepEqual(after.map((f) => f.length), [54]);
          assert.equal(t.handler.stats().rx!.dropped, 1);
        }
        assert.equal(t.handler.failed, false);
        assert.equal(t.handler.stats().tx!.frames, 2);
      } finally {
        t.close();
      }
    });
  }
}

test('a TAP with no room blocks TX (POLLOUT wanted) and nothing is lost', () => {
  const t = setup('split', true, 32); // 12 two-descriptor chains
  try {
    const frames = Array.from({ length: 12 }, (_, i) => withHeader(payload(60000, i)));
    for (const f of frames) t.txRing.addTx([f.subarray(0, 12), f.subarray(12)]);
    const first = t.handler.processTx();
    assert.ok(first > 0 && first < 12, `some frames fit before the socket filled (${first})`);
    assert.equal(t.handler.tapEvents() & POLL.OUT, POLL.OUT);
    const received: Uint8Array[] = [];
    let sent = first;
    for (let round = 0; round < 12 && t.handler.tapEvents() & POLL.OUT; round++) {
      received.push(...t.hostReceive());
      sent += t.handler.processTx();
    }
    assert.equal(sent, 12);
    assert.equal(t.handler.tapEvents() & POLL.OUT, 0);
    received.push(...t.hostReceive());
    assert.equal(received.length, 12);
    received.forEach((r, i) => assert.deepEqual(r, frames[i], `frame ${i}`));
    assert.equal(t.handler.stats().tx!.dropped, 0);
  } finally {
    t.close();
  }
});

test('a broken RX ring sets DEVICE_NEEDS_RESET with a config interrupt; TX keeps working', () => {
  const t = setup('split', true);
  try {
    t.rxRing.split!.setAvailIdx(40);
    assert.equal(t.handler.processRx(), 0);
    assert.equal(t.handler.failed, true);
    assert.equal(Atomics.load(t.state, SHARED.STATUS) & VIRTIO_STATUS.DEVICE_NEEDS_RESET, VIRTIO_STATUS.DEVICE_NEEDS_RESET);
    assert.deepEqual(t.interrupts, ['config']);
    assert.match(t.lines[0]!, /queue 0 unusable, device needs reset/);
    assert.equal(t.handler.tapEvents() & POLL.IN, 0);
    const f = withHeader(payload(64, 9));
    t.txRing.addTx([f]);
    assert.equal(t.handler.processTx(), 1);
    assert.deepEqual(t.hostReceive(), [f]);
  } finally {
    t.close();
  }
});
