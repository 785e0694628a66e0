// The warm-up (warmup.ts) drives every scenario's device through its real
// queue code: frames go out and come back, requests complete, and it
// touches nothing of the real device's: no guest memory is mapped, the real
// backend fd is never used, and close() gives back every fd it made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { loadVirtioKind } from './kinds.js';
import { DEVICE_METRIC } from './metrics.js';
import { createVirtioSpec } from './spec.js';
import { prepareWarmUp, WARM_SETTLE } from './warmup.js';
import type { VirtioBackendSpec } from './spec.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;

async function warm(backend: VirtioBackendSpec, numQueues: number) {
  const kind = await loadVirtioKind(backend.kind);
  const spec = createVirtioSpec(backend, numQueues, { slot: 1, barGpa: 0xc000_0000, intxGsi: 5 });
  const before = openFds();
  const w = prepareWarmUp(kind, spec, 8);
  let steps = 0;
  const t0 = performance.now();
  while (!w.done) {
    w.step();
    steps++;
  }
  const ms = performance.now() - t0;
  const report = w.report();
  w.close();
  return { report, steps, ms, leaked: openFds() - before };
}

test('net warm-up: every scenario sends and receives frames through NetTx and NetRx, settles or stops at the cap, and closes its fds', async () => {
  // fd -1: the real TAP is never read or written (the addon would fail with EBADF).
  const r = await warm({ kind: 'net', tapFd: -1, tapName: 'none', mac: [2, 0, 0, 0, 0, 9] }, 2);
  assert.equal(r.leaked, 0, 'no fd left open');
  assert.ok(r.ms < WARM_SETTLE.CAP_MS + 2000, `ended within its cap (${r.ms.toFixed(0)} ms)`);
  for (const [i, s] of r.report.entries()) {
    assert.ok(s.rounds >= 8, `scenario ${i} ran its rounds`);
    assert.equal(s.needsReset, false, `scenario ${i}: its rings stayed usable across the resets`);
    // Every round sends a burst and takes it back: a device stuck after a reset would fall far behind.
    assert.ok(s.counters[DEVICE_METRIC.TX_FRAMES]! >= s.rounds, `scenario ${i}: ${s.counters[DEVICE_METRIC.TX_FRAMES]} TX frames in ${s.rounds} rounds`);
    assert.ok(s.counters[DEVICE_METRIC.RX_FRAMES]! >= s.rounds, `scenario ${i}: ${s.counters[DEVICE_METRIC.RX_FRAMES]} RX frames in ${s.rounds} rounds`);
    assert.equal(s.counters[DEVICE_METRIC.TX_DROPPED], 0, `scenario ${i}: no TX frame dropped`);
  }
});

test('blk warm-up: reads, writes and flushes complete on a memfd disk, the past-the-end reads fail as errors, and its fds are closed', async () => {
  const r = await warm({ kind: 'blk', fd: -1, size: 1 << 20, readOnly: false, serial: 'x' }, 1);
  assert.equal(r.leaked, 0, 'no fd left open');
  for (const [i, s] of r.report.entries()) {
    assert.equal(s.needsReset, false, `scenario ${i}: its ring stayed usable across the resets`);
    assert.ok(s.counters[DEVICE_METRIC.READS]! >= s.rounds, `scenario ${i}: ${s.counters[DEVICE_METRIC.READS]} reads in ${s.rounds} rounds`);
    assert.ok(s.counters[DEVICE_METRIC.READS]! > 0 && s.counters[DEVICE_METRIC.WRITES]! > 0 && s.counters[DEVICE_METRIC.FLUSHES]! > 0, `scenario ${i}: reads, writes, flushes`);
    assert.ok(s.counters[DEVICE_METRIC.ERRORS]! > 0, `scenario ${i}: the error path ran`);
  }
});
