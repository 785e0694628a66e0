import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BREAK, ConsoleEscape } from './escape.js';

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
  assert.deepEqual(feed(e, [0x01, 0x01, 0x01, 0x63]), { out: [0x01, 0x01, 0x63], action: null });
});

test('Ctrl-A h asks for help', () => {
  assert.equal(feed(new ConsoleEscape(), [0x01, 0x68]).action, 'help');
});

test('Ctrl-A b sends a BREAK in order with the bytes around it, and input goes on', () => {
  const e = new ConsoleEscape();
  assert.deepEqual(feed(e, [0x61, 0x01, 0x62, 0x74]), { out: [0x61, BREAK, 0x74], action: null });
  assert.deepEqual(feed(e, [0x01]), { out: [], action: null });
  assert.deepEqual(feed(e, [0x42, 0x01, 0x78]), { out: [BREAK], action: 'quit' });
});
