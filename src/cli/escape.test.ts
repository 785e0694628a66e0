import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleEscape } from './escape.js';

function feed(e: ConsoleEscape, bytes: number[]): { out: number[]; action: string | null } {
  const out: number[] = [];
  const action = e.feed(Uint8Array.from(bytes), out);
  return { out, action };
}

test('plain bytes pass through', () => {
  assert.deepEqual(feed(new ConsoleEscape(), [0x61, 0x0d, 0x03]), { out: [0x61, 0x0d, 0x03], action: null });
});

test('Ctrl-A x quits, also when split across reads', () => {
  const e = new ConsoleEscape();
  assert.deepEqual(feed(e, [0x61, 0x01]), { out: [0x61], action: null });
  assert.deepEqual(feed(e, [0x78]), { out: [], action: 'quit' });
});

test('Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A other sends both', () => {
  const e = new ConsoleEscape();
  assert.deepEqual(feed(e, [0x01, 0x01, 0x01, 0x62]), { out: [0x01, 0x01, 0x62], action: null });
});

test('Ctrl-A h asks for help', () => {
  assert.equal(feed(new ConsoleEscape(), [0x01, 0x68]).action, 'help');
});
