import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SHAPES, RateLog, ShapeLimiter, lineShape, worthLogging } from './rate_log.js';

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

test('lineShape masks numbers, decimal and hex, and nothing else', () => {
  assert.equal(lineShape('virtio-blk: sectors 12+8 past the end (64) at 0x1f000'), 'virtio-blk: sectors #+# past the end (#) at #');
  assert.equal(lineShape('the TAP refused a frame: EIO'), 'the TAP refused a frame: EIO');
});

test('ShapeLimiter: 10,000 lines of one shape (numbers differ) give 18 lines, with counts past the 8th', () => {
  const lines: string[] = [];
  const s = new ShapeLimiter((l) => lines.push(l));
  for (let i = 0; i < 10_000; i++) s.line(`virtio: queue 0: ring at 0x${(i * 4096).toString(16)} is outside RAM`);
  assert.equal(lines.length, 8 + 10, 'counts 1-8, then 16, 32, ..., 8192');
  assert.match(lines.at(-1)!, /\(8192 like this so far\)$/);
});

test('ShapeLimiter: shapes are counted apart, and past MAX_SHAPES all new shapes share one count', () => {
  const lines: string[] = [];
  const s = new ShapeLimiter((l) => lines.push(l), 4);
  for (let i = 0; i < 3; i++) s.line('a');
  for (let i = 0; i < 3; i++) s.line('b');
  assert.equal(lines.length, 6);
  // 1000 lines of 1000 different shapes: after the 4th shape they share one bucket.
  lines.length = 0;
  for (let i = 0; i < 1000; i++) s.line(`shape-${String.fromCharCode(97 + (i % 26))}${'x'.repeat(i)}`);
  assert.ok(lines.length <= 2 + 8 + 7, `${lines.length} lines`);
  assert.equal(MAX_SHAPES, 64);
});
