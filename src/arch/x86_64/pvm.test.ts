import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pvmHostQuirk, PVM_MODULE_DIR, PVM_CMDLINE } from './pvm.js';

test('a PVM host gets the emulator workarounds and a one-line notice', () => {
  const q = pvmHostQuirk((p) => p === PVM_MODULE_DIR);
  assert.ok(q);
  assert.equal(q.cmdline, PVM_CMDLINE);
  assert.match(q.cmdline, /^noxsave clearcpuid=.*\bcx16\b.*\bpopcnt\b/);
  assert.doesNotMatch(q.notice, /\n/);
});

test('other hosts get nothing', () => {
  assert.equal(pvmHostQuirk(() => false), undefined);
});
