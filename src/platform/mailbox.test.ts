import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import type { AccessBus } from '../bus/bus.js';
import { MailboxServer, mailboxBytes } from './mailbox.js';

const ACCESSES = 2000;

/** Runs in each "vCPU" worker: writes then reads back through its slot, then (the last one done) closes the server. */
const VCPU = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.url).then(({ RemoteBus, ACCESS_SPACE, MailboxServer }) => {
  const { buffer, index, done, accesses } = workerData;
  const pio = new RemoteBus(buffer, index, ACCESS_SPACE.PIO);
  const mmio = new RemoteBus(buffer, index, ACCESS_SPACE.MMIO);
  const wrong = [];
  for (let i = 0; i < accesses; i++) {
    const addr = 0x1000_0000_0 + index * 0x1000 + i;
    mmio.write(addr, 4, (i * 7 + index) >>> 0);
    const back = mmio.read(addr, 4);
    if (back !== ((i * 7 + index) >>> 0)) wrong.push([i, back]);
    if (pio.read(0x3f8 + index, 1) !== (index | 0x80)) wrong.push(['pio', i]);
  }
  parentPort.postMessage(wrong);
  if (Atomics.add(done, 0, 1) + 1 === workerData.vcpus) MailboxServer.close(buffer);
});`;

test('two vCPU threads share the platform thread through their mailbox slots: each gets its own answers', async () => {
  const vcpus = 2;
  const buffer = new SharedArrayBuffer(mailboxBytes(vcpus));
  const done = new Int32Array(new SharedArrayBuffer(4));
  const url = new URL('./mailbox.js', import.meta.url).href;
  const memory = new Map<number, number>();
  let inside = 0;
  let overlapped = false;
  const mmio: AccessBus = {
    read: (addr) => memory.get(addr) ?? 0xffffffff,
    write: (addr, _size, value) => {
      // One owner thread: a device is never entered twice at once.
      if (inside++ !== 0) overlapped = true;
      memory.set(addr, value);
      inside--;
      return true;
    },
  };
  const pio: AccessBus = { read: (port) => (port - 0x3f8) | 0x80, write: () => true };
  const workers = Array.from({ length: vcpus }, (_, index) => new Worker(VCPU, { eval: true, workerData: { url, buffer, index, done, vcpus, accesses: ACCESSES } }));
  const answers = workers.map((w) => new Promise<unknown[]>((resolve) => w.once('message', resolve)));
  let batches = 0;
  // Blocks this thread (as the platform thread blocks) until the last worker closes the mailboxes.
  new MailboxServer(buffer, vcpus).serve(pio, mmio, () => batches++);
  for (const a of answers) assert.deepEqual(await a, []);
  assert.equal(memory.size, vcpus * ACCESSES, 'every write landed, at its own address');
  assert.equal(memory.get(0x1000_0000_0 + 0x1000 + 5), 5 * 7 + 1, 'addresses above 4 GiB survive the trip');
  assert.equal(overlapped, false);
  assert.ok(batches >= ACCESSES, `after() ran after each batch (${batches})`);
  await Promise.all(workers.map((w) => w.terminate()));
});

test('a mailbox without a slot for the vCPU is refused', async () => {
  const { RemoteBus, ACCESS_SPACE } = await import('./mailbox.js');
  assert.throws(() => new RemoteBus(new SharedArrayBuffer(mailboxBytes(1)), 1, ACCESS_SPACE.PIO), /no slot 1/);
  assert.throws(() => new MailboxServer(new SharedArrayBuffer(mailboxBytes(1)), 2), /too small for 2/);
});
