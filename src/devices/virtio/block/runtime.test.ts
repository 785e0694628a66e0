// The virtio-blk queue runtime as its worker drives it, with the worker's
// own log path (devices/worker_log.ts): a guest that resets and restarts the
// device in a loop, with a ring that cannot work, must not get a log line
// per cycle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../../memory/guest_memory.js';
import { createLogWords, createWorkerLog } from '../../worker_log.js';
import { VIRTIO_F, VIRTIO_STATUS } from '../constants.js';
import { QUEUE_WORD, SHARED, createSharedState, queueWord } from '../shared_state.js';
import { SplitDriver } from '../mock_driver.fixture.js';
import { blk } from './runtime.js';
import { DEVICE_METRIC_SLOTS } from '../metrics.js';

const RAM = 0x10_0000;

function runtime(log: (line: string) => void) {
  const memory = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(RAM) }]);
  const state = createSharedState(1, false);
  Atomics.store(state, SHARED.FEATURES_HI, 1 << (VIRTIO_F.VERSION_1 - 32));
  Atomics.store(state, SHARED.STATUS, VIRTIO_STATUS.DRIVER_OK);
  const q = (w: number, v: number): void => void Atomics.store(state, queueWord(0, w), v);
  q(QUEUE_WORD.SIZE, 16);
  q(QUEUE_WORD.ENABLED, 1);
  const rt = blk.createQueueRuntime(
    { kind: 'blk', fd: -1, size: 64 * 512, readOnly: false, serial: 'x' },
    { memory, state, sink: { queue: () => undefined, config: () => undefined }, numQueues: 1, log, counters: new Float64Array(DEVICE_METRIC_SLOTS) },
  );
  return { memory, state, q, rt };
}

test('a reset loop with a ring outside RAM: one activation failure per cycle, a bounded number of lines', () => {
  const posted: string[] = [];
  const { q, rt } = runtime(createWorkerLog(createLogWords(), (l) => posted.push(l)));
  q(QUEUE_WORD.DESC_LO, 0x7000_0000); // far outside the 1 MiB of RAM
  for (let i = 0; i < 2000; i++) {
    rt.activate();
    rt.reset();
  }
  assert.match(posted[0]!, /virtio: queue 0: /);
  assert.ok(posted.length <= 8 + 8, `${posted.length} lines for 2000 cycles`);
  assert.match(posted.at(-1)!, /\(1024 like this so far\)/);
});

test('a reset loop with a broken ring: "device needs reset" a bounded number of times', () => {
  const posted: string[] = [];
  const { memory, q, rt } = runtime(createWorkerLog(createLogWords(), (l) => posted.push(l)));
  const driver = new SplitDriver(memory, 16, 0x1000, 0x1_0000, RAM);
  q(QUEUE_WORD.DESC_LO, driver.layout.desc);
  q(QUEUE_WORD.DRIVER_LO, driver.layout.driver);
  q(QUEUE_WORD.DEVICE_LO, driver.layout.device);
  for (let i = 0; i < 2000; i++) {
    driver.setAvailIdx(40 + i); // more buffers than the ring holds: unusable
    rt.activate();
    rt.reset();
  }
  assert.match(posted[0]!, /virtio-blk: queue 0 unusable, device needs reset/);
  assert.ok(posted.length <= 8 + 8, `${posted.length} lines for 2000 cycles`);
});
