import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../../memory/guest_memory.js';
import { PackedDriver, SplitDriver, type MockBuffer } from '../mock_driver.fixture.js';
import { SplitQueue } from '../queue_split.js';
import { PackedQueue } from '../queue_packed.js';
import { SHARED, createSharedState, queueWord, QUEUE_WORD } from '../shared_state.js';
import type { InterruptSink } from '../device.js';
import { VIRTIO_STATUS } from '../constants.js';
import { BlockExecutor } from './executor.js';
import type { BlockBackend } from './backend.js';
import type { IoTable } from '../../../memory/io_table.js';
import { BlockQueueHandler } from './queue_handler.js';
import { VIRTIO_BLK_S, VIRTIO_BLK_T } from './constants.js';

const RAM = 0x10_0000;

/** An in-memory disk, to check exactly what was written. */
class MemoryDisk implements BlockBackend {
  readonly bytes = new Uint8Array(64 * 512);
  flushes = 0;
  read(t: IoTable, offset: number): void {
    for (const v of t.views(0)) {
      v.set(this.bytes.subarray(offset, offset + v.length));
      offset += v.length;
    }
  }
  write(t: IoTable, offset: number): void {
    for (const v of t.views(0)) {
      this.bytes.set(v, offset);
      offset += v.length;
    }
  }
  flush(): void {
    this.flushes++;
  }
}

function header(type: number, sector: number): Uint8Array {
  const h = new Uint8Array(16);
  const v = new DataView(h.buffer);
  v.setUint32(0, type, true);
  v.setUint32(8, sector, true);
  return h;
}

function setup(layout: 'split' | 'packed') {
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(RAM) }]);
  const features = { eventIdx: false, indirect: true };
  const split = layout === 'split' ? new SplitDriver(mem, 16, 0x1000, 0x1_0000, RAM) : undefined;
  const packed = layout === 'packed' ? new PackedDriver(mem, 16, 0x1000, 0x1_0000, RAM) : undefined;
  const queue = split !== undefined ? new SplitQueue(mem, split.layout, features) : new PackedQueue(mem, packed!.layout, features);
  const state = createSharedState(1, false);
  Atomics.store(state, SHARED.STATUS, 0x0f);
  Atomics.store(state, queueWord(0, QUEUE_WORD.VECTOR), 3);
  const interrupts: string[] = [];
  const sink: InterruptSink = { queue: (v) => interrupts.push(`q${v}`), config: () => interrupts.push('config') };
  const disk = new MemoryDisk();
  const device = new BlockExecutor({ size: disk.bytes.length, readOnly: false, serial: 'x' });
  const lines: string[] = [];
  const handler = new BlockQueueHandler(mem, queue, 0, device, disk, state, sink, (l) => lines.push(l));
  const add = (buffers: MockBuffer[], indirect = false) => (split !== undefined ? split.addChain(buffers, { indirect }) : packed!.addChain(buffers, { indirect }));
  const takeUsed = () => (split !== undefined ? split.takeUsed() : packed!.takeUsed());
  return { mem, state, interrupts, disk, handler, lines, add, takeUsed, split, packed };
}

for (const layout of ['split', 'packed'] as const) {
  test(`${layout}: write then read back through the queue, one interrupt per batch`, () => {
    const t = setup(layout);
    const status1 = t.mem.size - 1; // status bytes at fixed places to read back
    const data = new Uint8Array(1024).map((_, i) => (i * 13) & 0xff);
    t.add([{ len: 16, data: header(VIRTIO_BLK_T.OUT, 3) }, { len: 1024, data }, { gpa: status1, len: 1, write: true }]);
    const readBuf = 0x8_0000;
    t.add([{ len: 16, data: header(VIRTIO_BLK_T.IN, 3) }, { gpa: readBuf, len: 1024, write: true }, { gpa: status1 - 1, len: 1, write: true }], true);
    t.add([{ len: 16, data: header(VIRTIO_BLK_T.FLUSH, 0) }, { gpa: status1 - 2, len: 1, write: true }]);
    t.mem.fill(status1 - 2, 3, 0xff);
    assert.equal(t.handler.process(), 3);
    assert.deepEqual(t.disk.bytes.subarray(1536, 2560), data);
    assert.ok(t.disk.bytes.subarray(0, 1536).every((b) => b === 0) && t.disk.bytes.subarray(2560).every((b) => b === 0), 'nothing else written');
    assert.deepEqual(t.mem.slice(readBuf, 1024), data);
    assert.deepEqual([...t.mem.slice(status1 - 2, 3)], [0, 0, 0]);
    assert.equal(t.disk.flushes, 1);
    assert.deepEqual(t.takeUsed().map((u) => u.len), [1, 1025, 1]);
    assert.deepEqual(t.interrupts, ['q3']);
    assert.equal(t.handler.process(), 0);
    assert.deepEqual(t.interrupts, ['q3'], 'no interrupt without completions');
  });

  test(`${layout}: malformed chains and bad requests fail alone; the VMM and the queue keep going`, () => {
    const t = setup(layout);
    t.add([{ len: 16, data: header(VIRTIO_BLK_T.OUT, 0) }, { gpa: RAM - 100, len: 512 }, { len: 1, write: true }]);
    const st = 0x9_0000;
    t.add([{ len: 16, data: header(VIRTIO_BLK_T.IN, 63) }, { len: 1024, write: true }, { gpa: st, len: 1, write: true }]);
    t.add([{ len: 16, data: header(VIRTIO_BLK_T.GET_ID, 0) }, { len: 20, write: true }, { gpa: st + 1, len: 1, write: true }]);
    assert.equal(t.handler.process(), 3);
    assert.deepEqual(t.takeUsed().map((u) => u.len), [0, 1, 21]);
    assert.equal(t.mem.readU8(st), VIRTIO_BLK_S.IOERR, 'read past the end');
    assert.equal(t.mem.readU8(st + 1), VIRTIO_BLK_S.OK);
    assert.ok(t.disk.bytes.every((b) => b === 0), 'the disk was not touched');
    assert.equal(t.lines.length, 2);
    assert.equal(t.handler.failed, false);
  });
}

test('a broken ring sets DEVICE_NEEDS_RESET with a config interrupt and stops the queue', () => {
  const t = setup('split');
  t.split!.setAvailIdx(40);
  assert.equal(t.handler.process(), 0);
  assert.equal(t.handler.failed, true);
  assert.equal(Atomics.load(t.state, SHARED.STATUS) & VIRTIO_STATUS.DEVICE_NEEDS_RESET, VIRTIO_STATUS.DEVICE_NEEDS_RESET);
  assert.deepEqual(t.interrupts, ['config']);
  assert.match(t.lines[0]!, /needs reset/);
  assert.equal(t.handler.process(), 0);
});

test('a guest flooding bad requests cannot flood the log: 2,000 bad requests, 15 lines', () => {
  const t = setup('split');
  const st = 0x9_0000;
  for (let i = 0; i < 2000; i++) {
    // An unknown request type: answered UNSUPP and logged as a bad request.
    t.add([{ len: 16, data: header(0x7777, 0) }, { gpa: st, len: 1, write: true }]);
    assert.equal(t.handler.process(), 1);
    t.takeUsed();
    assert.equal(t.mem.readU8(st), VIRTIO_BLK_S.UNSUPP);
  }
  assert.equal(t.lines.length, 15, 'the first 8, then the 16th, 32nd, ..., 1024th');
  assert.match(t.lines.at(-1)!, /\(1024 so far\)/);
});
