import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { sigset } from './kick.js';

test('sigset: bit n-1 of a 64-bit little-endian set is signal n', () => {
  assert.equal(sigset(1).readBigUInt64LE(), 1n);
  assert.equal(sigset(36, 6).readBigUInt64LE(), (1n << 35n) | (1n << 5n));
  assert.throws(() => sigset(0), RangeError);
  assert.throws(() => sigset(65), RangeError);
});

/**
 * A thread that blocks the kick signal the way a vCPU thread does outside
 * KVM_RUN: a kick sent to it stays pending (it would kill the process if it
 * were delivered: a real-time signal's default action) until it takes it.
 */
const KICKED = `
const { workerData, parentPort } = require('node:worker_threads');
Promise.all([import(workerData.kick), import(workerData.addon), import(workerData.linux)]).then(([kick, { native }, { VCPU_KICK_SIGNAL }]) => {
  native.sigprocmask(0, kick.sigset(VCPU_KICK_SIGNAL), null);
  const before = kick.consumeKick();
  parentPort.postMessage({ tid: native.gettid(), before });
  const go = new Int32Array(workerData.go);
  Atomics.wait(go, 0, 0);
  parentPort.postMessage({ taken: kick.consumeKick(), again: kick.consumeKick() });
});`;

test('a kick to a thread that blocks the signal stays pending until the thread takes it, once', async () => {
  const go = new Int32Array(new SharedArrayBuffer(4));
  const url = (m: string): string => new URL(m, import.meta.url).href;
  const w = new Worker(KICKED, { eval: true, workerData: { go: go.buffer, kick: url('./kick.js'), addon: url('../native/addon.js'), linux: url('../native/linux.js') } });
  const messages: Array<Record<string, unknown>> = [];
  const next = (): Promise<Record<string, unknown>> => new Promise((resolve) => w.once('message', resolve));
  messages.push(await next());
  assert.equal(messages[0]!['before'], false, 'nothing pending before the kick');
  const { kickThread } = await import('./kick.js');
  kickThread(messages[0]!['tid'] as number);
  const after = next();
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
  assert.deepEqual(await after, { taken: true, again: false });
  await w.terminate();
});

test('kicking a thread that has exited is not an error: it reports false', async () => {
  const { kickThread } = await import('./kick.js');
  // A tid no thread of this process has: beyond the kernel's pid limit.
  assert.equal(kickThread(4 * 1024 * 1024 + 1), false);
});
