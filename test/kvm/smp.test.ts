// Several vCPUs (--cpus): the platform thread serves every vCPU's exits, the
// secondary vCPUs wait in KVM for the guest to start them, and every vCPU
// thread is kicked out of KVM_RUN when the VM ends, however it ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTsvmm, kvmUnavailable } from '../helpers/tsvmm.js';
import { guestDir } from '../helpers/guests.js';
import { debianVmlinux, tinyInitrd } from '../helpers/debian_kernel.js';
import { runOnPty, CTRL_A_X } from '../helpers/pty.js';

const noKvm = kvmUnavailable();
const skip = noKvm ?? false;
const guest = (name: string): string => `${guestDir()}/${name}.elf`;
/** The VMM's line when a vCPU thread would not leave KVM_RUN (lifecycle.ts). */
const STUCK = /did not stop/;

test('hello with --cpus 4: output through the platform thread, reboot from vCPU 0 ends the VM, every vCPU thread stops', { skip }, async () => {
  const r = await runTsvmm(['-k', guest('hello'), '-m', '64M', '--cpus', '4'], { timeoutMs: 120000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /hello from CPL3/);
  assert.match(r.stdout, /DONE/);
  assert.doesNotMatch(r.stderr, STUCK);
});

test('echo with --cpus 2: console input reaches the guest through the platform thread', { skip }, async () => {
  const r = await runTsvmm(['-k', guest('echo'), '-m', '64M', '--cpus', '2'], { input: 'smp echo\nq', timeoutMs: 120000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /SMP ECHO/);
  assert.match(r.stdout, /BYE/);
  assert.doesNotMatch(r.stderr, STUCK);
});

const vmlinux = noKvm ? undefined : await debianVmlinux();
const linuxSkip = noKvm ?? (vmlinux === undefined ? 'no Debian kernel cached: run scripts/fetch-debian-kernel.sh' : false);

for (const extra of [[], ['--seccomp']]) {
  test(`Debian's kernel with --cpus 2${extra.length ? ' and --seccomp' : ''} brings up both CPUs; Ctrl-A x stops every vCPU and exits 0`, { skip: linuxSkip, timeout: 900_000 }, async () => {
    const r = await runOnPty(['-k', vmlinux!, '-i', tinyInitrd(), '-m', '512M', '--cpus', '2', ...extra], {
      expect: 'smp: Brought up 1 node, 2 CPUs',
      send: CTRL_A_X,
      timeoutSec: 600,
    });
    assert.equal(r.matched, true, `no "Brought up ... 2 CPUs" within 600 s:\n${r.output.slice(-3000)}`);
    assert.equal(r.code, 0, r.output.slice(-2000));
    assert.doesNotMatch(r.output, STUCK);
    assert.ok(r.secondsToExit < 5, `exited ${r.secondsToExit}s after Ctrl-A x`);
    assert.equal(r.restored, true, 'terminal settings restored');
  });
}
