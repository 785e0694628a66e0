// The console on a real (pseudo-)terminal: raw mode, Ctrl-A x, and the
// terminal restored on every exit path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kvmUnavailable } from '../helpers/tsvmm.js';
import { guestDir } from '../helpers/guests.js';
import { runOnPty, CTRL_A_X } from '../helpers/pty.js';

const skip = kvmUnavailable() ?? false;

test('an error before the guest runs leaves the terminal as it was', async () => {
  const r = await runOnPty(['-k', '/nonexistent/kernel'], { expect: 'no such file', timeoutSec: 20 });
  assert.equal(r.matched, true, r.output);
  assert.equal(r.code, 1);
  assert.equal(r.restored, true);
});

test('typed keys reach the guest, Ctrl-A x quits with 0 and restores the terminal', { skip }, async () => {
  const r = await runOnPty(['-k', `${guestDir()}/echo.elf`, '-m', '64M'], {
    // Type, wait for the echo, then quit: Ctrl-A x quits at once, so typing it
    // with the keys could end the VMM before a slow guest has echoed them all.
    expect: ['READY', 'ABC'],
    send: [Buffer.from('abc'), CTRL_A_X],
    timeoutSec: 60,
  });
  assert.equal(r.matched, true, r.output);
  assert.equal(r.code, 0, r.output);
  assert.ok(r.secondsToExit < 5, `exited ${r.secondsToExit}s after Ctrl-A x`);
  assert.equal(r.restored, true, 'terminal settings restored');
});

for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT']) {
  test(`${sig} to tsvmm ends the VMM and restores the terminal`, { skip }, async () => {
    const r = await runOnPty(['-k', `${guestDir()}/echo.elf`, '-m', '64M'], { expect: 'READY', signal: sig, timeoutSec: 60 });
    assert.equal(r.matched, true, r.output);
    assert.equal(r.exited, true);
    assert.notEqual(r.code, 0);
    assert.equal(r.restored, true, 'terminal settings restored');
  });
}

test('a VMM killed by the seccomp filter (SIGSYS): one line saying so, exit 159, terminal restored', { skip }, async () => {
  // SIGSYS is what the kernel delivers when the filter kills the process; sending
  // it from outside exercises the same supervisor path without a planted bug.
  // Wait for the VMM's own line saying the filter is on (guest output and that
  // line share the terminal and may interleave, so not for "READY").
  const r = await runOnPty(['-k', `${guestDir()}/echo.elf`, '-m', '64M', '--seccomp'], { expect: 'allowlist on every thread', signal: 'SIGSYS', signalVmm: true, timeoutSec: 60 });
  assert.equal(r.matched, true, r.output);
  assert.equal(r.code, 159, r.output);
  assert.match(r.output, /the seccomp filter killed the VMM \(SIGSYS\)/);
  assert.match(r.output, /--seccomp=log/);
  assert.equal(r.restored, true, 'terminal settings restored');
});
