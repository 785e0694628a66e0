import { test } from 'node:test';
import assert from 'node:assert/strict';
import { I8042 } from './i8042.js';

test('0xFE on the command port requests a reset; other writes do not', () => {
  let resets = 0;
  const kbd = new I8042(() => resets++);
  kbd.write(0, 1, 0xfe); // data port: not a command
  kbd.write(4, 1, 0xad); // disable keyboard: ignored
  assert.equal(resets, 0);
  assert.equal(kbd.read(4, 1), 0, 'status: both buffers empty');
  kbd.write(4, 1, 0xfe);
  assert.equal(resets, 1);
  assert.equal(kbd.resetRequested, true);
});
