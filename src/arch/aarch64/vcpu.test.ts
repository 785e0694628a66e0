import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOOT_PSTATE, bootRegisters, describeArm64Vcpu, initVcpu, setBootRegisters } from './vcpu.js';

function setupBootVcpu(kvm: FakeKvm, vmFd: number, vcpuFd: number, e: typeof entry): number {
  const mpidr = initVcpu(kvm, vmFd, vcpuFd, 0);
  setBootRegisters(kvm, vcpuFd, e);
  return mpidr;
}
import { FakeKvm } from './fake_kvm.fixture.js';
import { KvmError } from '../../kvm/errors.js';

const entry = { pc: 0x8000_0000, fdt: 0x9fe0_0000 };

test('PSTATE is EL1h with D, A, I and F masked', () => {
  assert.equal(BOOT_PSTATE, 0x3c5);
});

test('the boot protocol registers: x0 = DTB, x1-x3 = 0, pc = kernel, EL1h', () => {
  const regs = new Map(bootRegisters(entry).map((r) => [r.name, r]));
  assert.equal(regs.get('x0')!.value, 0x9fe0_0000n);
  assert.equal(regs.get('x0')!.id, 0x6030000000100000n);
  assert.equal(regs.get('x3')!.id, 0x6030000000100006n, 'x3 is 8 bytes x 3 = 6 words in');
  for (const x of ['x1', 'x2', 'x3']) assert.equal(regs.get(x)!.value, 0n);
  assert.equal(regs.get('pc')!.id, 0x6030000000100040n);
  assert.equal(regs.get('pc')!.value, 0x8000_0000n);
  assert.equal(regs.get('pstate')!.id, 0x6030000000100042n);
});

test('initialises the preferred target with PSCI 0.2, then sets the registers', () => {
  const kvm = new FakeKvm(undefined, 5);
  setupBootVcpu(kvm, 3, 4, entry);
  assert.equal(kvm.vcpuInit?.target, 5);
  assert.equal(kvm.vcpuInit!.features[0]! & 0b100, 0b100, 'KVM_ARM_VCPU_PSCI_0_2 is bit 2');
  assert.equal(kvm.vcpuInit!.features[0]! & 0b1, 0, 'the boot vCPU is not powered off');
  assert.deepEqual(kvm.log.slice(0, 2), ['preferred_target', 'vcpu_init target=5 features0=0x4']);
  assert.equal(kvm.regs.get(0x6030000000100040n), 0x8000_0000n);
  assert.equal(kvm.regs.get(0x6030000000100000n), 0x9fe0_0000n);
  assert.equal(kvm.regs.get(0x6030000000100042n), 0x3c5n);
});

test('secondary vCPUs start powered off, and each reports its MPIDR affinity', () => {
  const kvm = new FakeKvm();
  assert.equal(setupBootVcpu(kvm, 3, 4, entry), 0);
  const mpidrs = [5, 6, 7].map((fd, i) => initVcpu(kvm, 3, fd, i + 1));
  assert.deepEqual(mpidrs, [1, 2, 3], 'Aff0 = vCPU id below 16, bit 31 (RES1) masked off');
  for (const fd of [5, 6, 7]) assert.equal(kvm.vcpuInits.get(fd)!.features[0]! & 0b101, 0b101, 'PSCI 0.2 and POWER_OFF (bit 0)');
  assert.equal(kvm.vcpuInits.get(4)!.features[0]! & 0b1, 0, 'the boot vCPU is not powered off');
});

test('describes the vCPU by PC and PSTATE, read back through KVM_GET_ONE_REG', () => {
  const kvm = new FakeKvm();
  setupBootVcpu(kvm, 3, 4, entry);
  assert.equal(describeArm64Vcpu(kvm, 4), 'PC 0x80000000, PSTATE 0x3c5');
  assert.match(describeArm64Vcpu(new FakeKvm(), 4), /^PC unavailable \(KVM_GET_ONE_REG: ENOENT\)$/);
});

test('a failing ioctl is a KvmError saying which', () => {
  const kvm = new FakeKvm();
  kvm.ioctl = () => {
    throw new Error('EINVAL');
  };
  assert.throws(() => setupBootVcpu(kvm, 3, 4, entry), (e: Error) => e instanceof KvmError && /KVM_ARM_PREFERRED_TARGET failed: EINVAL/.test(e.message));
});
