// Smoke test for the arm64 test host (scripts/testhost-arm64/): under Node.js
// for arm64, the addon (its arm64 build) opens /dev/kvm, creates a VM and sees
// the capabilities an aarch64 VMM needs. The generic ioctls have the same
// numbers on x86-64 and arm64, so src/kvm/system.ts serves both.
// Run it with `npm run test:arm64`; elsewhere it skips, saying why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

const device = process.env['TSVMM_KVM_DEVICE'] || '/dev/kvm';

/** Why the test cannot run here, or false. TSVMM_REQUIRE_KVM=1 (set by the runner) makes a missing device a failure. */
function skipReason(): string | false {
  if (process.arch !== 'arm64') return `not on arm64 (process.arch is ${process.arch}): run \`npm run test:arm64\``;
  if (!existsSync(device) && process.env['TSVMM_REQUIRE_KVM'] !== '1') return `${device} is absent on this arm64 machine`;
  return false;
}

const skip = skipReason();
if (skip) console.log(`# ${skip}`);

test('arm64: /dev/kvm answers API version 12, creates a VM and offers PSCI 0.2', { skip }, async () => {
  // Imported here: loading the addon needs its arm64 build, which only matters when not skipped.
  const { native } = await import('../../src/native/addon.js');
  const { Kvm, KVM_CAP } = await import('../../src/kvm/system.js');
  const { KVM_API_VERSION, KVM_IOCTL } = await import('../../src/kvm/generated/uapi.js');

  const kvm = Kvm.open(device);
  try {
    assert.equal(native.ioctlInt(kvm.fd, KVM_IOCTL.GET_API_VERSION, 0), KVM_API_VERSION);
    assert.equal(KVM_API_VERSION, 12);
    const vm = kvm.createVm();
    try {
      assert.ok(vm.fd >= 0, `KVM_CREATE_VM returned fd ${vm.fd}`);
    } finally {
      native.close(vm.fd);
    }
    const psci = kvm.checkExtension(KVM_CAP.ARM_PSCI_0_2);
    assert.ok(psci > 0, `KVM_CHECK_EXTENSION(KVM_CAP_ARM_PSCI_0_2) = ${psci}`);
  } finally {
    kvm.close();
  }
});
