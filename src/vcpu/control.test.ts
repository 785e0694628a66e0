import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { VcpuControl, VCPU_REQUEST, VCPU_STATE } from './control.js';

/** A stand-in vCPU thread: counts "exits", calling checkpoint() after each, until told to stop. */
const VCPU = `
const { workerData } = require('node:worker_threads');
import(workerData.url).then(({ VcpuControl }) => {
  const control = new VcpuControl(workerData.count, workerData.buffer);
  const counter = new Int32Array(workerData.counter);
  while (!control.checkpoint(workerData.index)) Atomics.add(counter, workerData.index, 1);
});`;

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

test('pause holds every vCPU at its checkpoint, resume lets them run, stop ends them', async () => {
  const count = 3;
  const control = new VcpuControl(count);
  const counter = new Int32Array(new SharedArrayBuffer(4 * count));
  const url = new URL('./control.js', import.meta.url).href;
  const workers = Array.from({ length: count }, (_, index) => new Worker(VCPU, { eval: true, workerData: { url, buffer: control.buffer, counter: counter.buffer, count, index } }));
  const exited = workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
  await until('every vCPU to run', () => [0, 1, 2].every((i) => Atomics.load(counter, i) > 0));

  control.requestAll(VCPU_REQUEST.PAUSE);
  assert.equal(await control.waitAll(VCPU_STATE.PAUSED, 10_000), true);
  const held = [0, 1, 2].map((i) => Atomics.load(counter, i));
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual([0, 1, 2].map((i) => Atomics.load(counter, i)), held, 'a paused vCPU makes no progress');
  assert.deepEqual(control.laggards(VCPU_STATE.PAUSED), []);

  control.requestAll(VCPU_REQUEST.RUN);
  await until('progress after resume', () => [0, 1, 2].every((i) => Atomics.load(counter, i) > held[i]!));
  assert.equal(control.state(0), VCPU_STATE.RUNNING);

  control.requestAll(VCPU_REQUEST.STOP);
  assert.equal(await control.waitAll(VCPU_STATE.STOPPED, 10_000), true);
  await Promise.all(exited);
  control.requestAll(VCPU_REQUEST.RUN);
  assert.equal(control.request(1), VCPU_REQUEST.STOP, 'STOP is final');
});

test('waitAll gives up after its timeout and names the vCPUs that did not answer', async () => {
  const control = new VcpuControl(2);
  control.report(0, VCPU_STATE.PAUSED);
  assert.equal(await control.waitAll(VCPU_STATE.PAUSED, 30), false);
  assert.deepEqual(control.laggards(VCPU_STATE.PAUSED), [1]);
});
