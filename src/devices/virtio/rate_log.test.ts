import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLog, worthLogging } from './rate_log.js';

test('the first 8 events and then powers of two are worth logging', () => {
  const logged = Array.from({ length: 1100 }, (_, i) => i + 1).filter(worthLogging);
  assert.deepEqual(logged, [1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 128, 256, 512, 1024]);
});

test('RateLog: a flood of 100,000 events writes 21 lines, with counts past the 8th', () => {
  const lines: string[] = [];
  const r = new RateLog((l) => lines.push(l));
  for (let i = 0; i < 100_000; i++) r.event('bad request');
  assert.equal(r.count, 100_000);
  assert.equal(lines.length, 8 + 13); // then 16, 32, ..., 65536
  assert.equal(lines[0], 'bad request');
  assert.equal(lines.at(-1), 'bad request (65536 so far)');
});
