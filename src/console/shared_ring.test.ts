import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { SharedRing } from './shared_ring.js';

test('bytes come out in order and a full ring refuses the excess', () => {
  const r = new SharedRing(8);
  assert.equal(r.push([1, 2, 3, 4, 5, 6]), 6);
  assert.equal(r.push([7, 8, 9, 10]), 2);
  assert.equal(r.available(), 8);
  const got = [];
  while (r.available() > 0) got.push(r.take());
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(r.push([11, 12, 13]), 3, 'space is reused after wrap-around');
  assert.equal(r.take(), 11);
});

test('rejects a capacity that is not a power of two', () => {
  assert.throws(() => new SharedRing(12), RangeError);
});

test('a consumer in another thread sees every byte in order', async () => {
  const r = new SharedRing(64);
  const total = 100_000;
  const src = `
    const { workerData, parentPort } = require('node:worker_threads');
    const idx = new Int32Array(workerData, 0, 2);
    const data = new Uint8Array(workerData, 16);
    let expect = 0, n = 0, bad = 0;
    while (n < ${total}) {
      const head = Atomics.load(idx, 0), tail = Atomics.load(idx, 1);
      if (head === tail) continue;
      if (data[head & 63] !== (expect & 255)) bad++;
      expect++; n++;
      Atomics.store(idx, 0, head + 1);
    }
    parentPort.postMessage(bad);`;
  const w = new Worker(src, { eval: true, workerData: r.buffer });
  const done = new Promise<number>((resolve) => w.once('message', resolve));
  let sent = 0;
  while (sent < total) {
    const chunk = [];
    for (let i = 0; i < 50 && sent + i < total; i++) chunk.push((sent + i) & 255);
    sent += r.push(chunk);
    if (r.available() > 32) await new Promise((res) => setImmediate(res));
  }
  assert.equal(await done, 0);
  await w.terminate();
});

test('a BREAK comes out before the byte pushed after it, once', () => {
  const r = new SharedRing(8);
  r.push([1, 2]);
  assert.equal(r.pushBreak(), true);
  assert.equal(r.pushBreak(), false, 'one BREAK pending at a time');
  r.push([3]);
  const seq: Array<number | 'BREAK'> = [];
  for (;;) {
    if (r.takeBreak()) seq.push('BREAK');
    else if (r.available() > 0) seq.push(r.take());
    else break;
  }
  assert.deepEqual(seq, [1, 2, 'BREAK', 3]);
  assert.equal(r.pushBreak(), true, 'a new BREAK once the last one was read');
  assert.equal(r.available(), 0);
  assert.equal(r.takeBreak(), true, 'a BREAK with no byte after it is still delivered');
  assert.equal(r.takeBreak(), false);
});
