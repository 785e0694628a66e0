import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress } from './progress.js';

function fake(isTTY: boolean): { sink: { isTTY: boolean; write(t: string): void }; text: () => string } {
  let out = '';
  return { sink: { isTTY, write: (t: string) => void (out += t) }, text: () => out };
}

test('Progress without a terminal: one plain line per stage, stamped from the start', () => {
  let t = 1000;
  const f = fake(false);
  const p = new Progress(f.sink, () => t);
  p.stage('extracting');
  t += 25_000;
  p.update('ignored');
  p.stage('building');
  t += 600_000;
  p.end();
  assert.equal(f.text(), '[guest +0s] extracting\n[guest +25s] building\n');
  assert.equal(p.secs(), 625);
});

test('Progress on a terminal: the line is rewritten with detail and closed with its duration', () => {
  let t = 0;
  const f = fake(true);
  const p = new Progress(f.sink, () => t);
  p.stage('building');
  t += 3000;
  p.update('12 files compiled');
  t += 2000;
  p.end();
  p.end();
  assert.equal(f.text(), '[guest +0s] building\r\x1b[K[guest +0s] building 12 files compiled\r\x1b[K[guest +0s] building (5s)\n');
});
