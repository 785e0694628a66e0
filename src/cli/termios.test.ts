import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRaw, isRaw, TERMIOS, TERMIOS_SIZE } from './termios.js';

test('makeRaw clears canonical mode, echo, signals and output processing, and keeps the original', () => {
  const cooked = Buffer.alloc(TERMIOS_SIZE);
  cooked.writeUInt32LE(TERMIOS.ICRNL | TERMIOS.IXON, 0);
  cooked.writeUInt32LE(TERMIOS.OPOST, 4);
  cooked.writeUInt32LE(0o277, 8); // CS7 | PARENB-ish bits
  cooked.writeUInt32LE(TERMIOS.ICANON | TERMIOS.ECHO | TERMIOS.ISIG | TERMIOS.IEXTEN, 12);
  const raw = makeRaw(cooked);
  assert.equal(isRaw(cooked), false);
  assert.equal(isRaw(raw), true);
  assert.equal(raw.readUInt32LE(0) & (TERMIOS.ICRNL | TERMIOS.IXON), 0);
  assert.equal(raw.readUInt32LE(8) & TERMIOS.CSIZE, TERMIOS.CS8);
  assert.equal(raw[17 + TERMIOS.VMIN], 1);
  assert.equal(raw[17 + TERMIOS.VTIME], 0);
  assert.equal(cooked.readUInt32LE(12) & TERMIOS.ICANON, TERMIOS.ICANON, 'original untouched');
});
