// Boots Debian's stock kernel (as a vmlinux extracted by our loader) on a
// pseudo-terminal until it prints its banner and command line, then quits
// with Ctrl-A x: exit code 0 within 5 s and the terminal restored. Run with
// and without --seccomp (kvm-host's "boot test" and "boot test (seccomp)").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kvmUnavailable } from '../helpers/tsvmm.js';
import { debianVmlinux, tinyInitrd } from '../helpers/debian_kernel.js';
import { runOnPty, CTRL_A_X } from '../helpers/pty.js';

const noKvm = kvmUnavailable();
const vmlinux = noKvm ? undefined : await debianVmlinux();
const skip = noKvm ?? (vmlinux === undefined ? 'no Debian kernel cached: run scripts/fetch-debian-kernel.sh' : false);

for (const extra of [[], ['--seccomp']]) {
  test(`Debian vmlinux prints "Linux version" and its command line${extra.length ? ' with --seccomp' : ''}; Ctrl-A x exits 0`, { skip, timeout: 600_000 }, async () => {
    const marker = `tsvmm.banner=${Date.now()}`;
    const r = await runOnPty(['-k', vmlinux!, '-i', tinyInitrd(), '-m', '512M', '--append', marker, ...extra], {
      expect: `Command line: .*${marker}`,
      send: CTRL_A_X,
      timeoutSec: 300,
    });
    assert.equal(r.matched, true, `no banner and command line within 300 s:\n${r.output.slice(-3000)}`);
    assert.match(r.output, /Linux version \d+\.\d+/);
    assert.equal(r.code, 0, r.output.slice(-2000));
    assert.ok(r.secondsToExit < 5, `exited ${r.secondsToExit}s after Ctrl-A x`);
    assert.equal(r.restored, true, 'terminal settings restored');
  });
}
