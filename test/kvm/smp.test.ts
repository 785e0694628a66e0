// Several vCPUs (--cpus): the platform thread serves every vCPU's exits, the
// secondary vCPUs wait in KVM for the guest to start them, and every vCPU
// thread is kicked out of KVM_RUN when the VM ends, however it ends. Linux
// bringing up its CPUs is in smp_linux.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTsvmm, kvmUnavailable, VCPU_STUCK as STUCK } from '../helpers/tsvmm.js';
import { guestDir } from '../helpers/guests.js';

const noKvm = kvmUnavailable();
const skip = noKvm ?? false;
const guest = (name: string): string => `${guestDir()}/${name}.elf`;

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
