// Debian's kernel on two vCPUs: the secondary CPU is started by the guest
// (INIT/SIPI through the in-kernel LAPIC) and Ctrl-A x stops both vCPU
// threads. A PVM host cannot get that far (fullGuestUnavailable), so there
// scripts/run-tests.mjs runs this file in the test host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullGuestUnavailable, kvmUnavailable, VCPU_STUCK as STUCK } from '../helpers/tsvmm.js';
import { debianVmlinux, tinyInitrd } from '../helpers/debian_kernel.js';
import { runOnPty, CTRL_A_X } from '../helpers/pty.js';

const noKvm = kvmUnavailable() ?? fullGuestUnavailable();
const vmlinux = noKvm ? undefined : await debianVmlinux();
const skip = noKvm ?? (vmlinux === undefined ? 'no Debian kernel cached: run scripts/fetch-debian-kernel.sh' : false);

for (const extra of [[], ['--seccomp']]) {
  test(`Debian's kernel with --cpus 2${extra.length ? ' and --seccomp' : ''} brings up both CPUs; Ctrl-A x stops every vCPU and exits 0`, { skip, timeout: 900_000 }, async () => {
    const r = await runOnPty(['-k', vmlinux!, '-i', tinyInitrd(), '-m', '512M', '--cpus', '2', ...extra], {
      expect: 'smp: Brought up 1 node, 2 CPUs',
      send: CTRL_A_X,
      timeoutSec: 600,
      // How long the pty driver waits after Ctrl-A x before it kills the VMM
      // (and this test fails): generous, so a busy host cannot fail it.
      exitTimeoutSec: 120,
    });
    assert.equal(r.matched, true, `no "Brought up ... 2 CPUs" within 600 s:\n${r.output.slice(-3000)}`);
    assert.equal(r.code, 0, r.output.slice(-2000));
    // A vCPU thread that would not leave KVM_RUN makes the VMM say so.
    assert.doesNotMatch(r.output, STUCK);
    assert.equal(r.restored, true, 'terminal settings restored');
  });
}
