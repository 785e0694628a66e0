import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVgic, initVgic, spiIrqLine } from './gic.js';
import { FakeKvm } from './fake_kvm.fixture.js';
import { KvmError } from '../../kvm/errors.js';
import { KVM_DEV_ARM_VGIC_GRP as GRP, KVM_DEV_TYPE, KVM_VGIC_ADDR_TYPE as ADDR } from '../../kvm/generated/uapi_arm64.js';
import { IRQ, LAYOUT } from './layout.js';

const VM_FD = 7;
const key = (group: number, attr: number): string => `${group}/${attr}`;

test('GICv3 when KVM offers it: distributor and IRQ count before the vCPUs, redistributors and init after', () => {
  const kvm = new FakeKvm();
  const gic = createVgic(kvm, VM_FD);
  assert.equal(gic.version, 3);
  const dev = kvm.devices.get(gic.fd)!;
  assert.equal(dev.type, KVM_DEV_TYPE.ARM_VGIC_V3);
  assert.equal(dev.attrs.get(key(GRP.ADDR, ADDR.V3_DIST)), BigInt(LAYOUT.GIC_DIST_START));
  assert.equal(dev.attrs.get(key(GRP.NR_IRQS, 0)), BigInt(IRQ.NR_IRQS));
  assert.equal(dev.attrs.has(key(GRP.ADDR, ADDR.V3_REDIST)), false, 'no redistributors before the vCPUs exist');
  assert.equal(dev.initialised, false);

  kvm.vcpus = 1;
  initVgic(kvm, gic, 1);
  assert.equal(dev.attrs.get(key(GRP.ADDR, ADDR.V3_REDIST)), BigInt(LAYOUT.GIC_REDIST_START));
  assert.equal(dev.initialised, true);
  assert.deepEqual(kvm.log, [
    `create_device type=${KVM_DEV_TYPE.ARM_VGIC_V3}`,
    'set_attr group=0 attr=2 value=0x8000000',
    'set_attr group=3 attr=0 value=0x80',
    'set_attr group=0 attr=3 value=0x8100000',
    'set_attr group=4 attr=0',
  ]);
});

test('falls back to GICv2 when GICv3 cannot be created', () => {
  const kvm = new FakeKvm([KVM_DEV_TYPE.ARM_VGIC_V2]);
  const gic = createVgic(kvm, VM_FD);
  assert.equal(gic.version, 2);
  const dev = kvm.devices.get(gic.fd)!;
  assert.equal(dev.type, KVM_DEV_TYPE.ARM_VGIC_V2);
  assert.equal(dev.attrs.get(key(GRP.ADDR, ADDR.V2_DIST)), BigInt(LAYOUT.GIC_DIST_START));
  assert.equal(dev.attrs.get(key(GRP.ADDR, ADDR.V2_CPU)), BigInt(LAYOUT.GIC_CPU_START));
  assert.equal(dev.attrs.get(key(GRP.NR_IRQS, 0)), BigInt(IRQ.NR_IRQS));
  kvm.vcpus = 1;
  initVgic(kvm, gic, 1);
  assert.equal(dev.initialised, true);
  assert.equal(dev.attrs.has(key(GRP.ADDR, ADDR.V3_REDIST)), false, 'GICv2 has no redistributors');
  assert.deepEqual(kvm.log.slice(0, 2), [`create_device type=${KVM_DEV_TYPE.ARM_VGIC_V3}`, `create_device type=${KVM_DEV_TYPE.ARM_VGIC_V2}`]);
});

test('no GIC at all is one KvmError naming both attempts', () => {
  const kvm = new FakeKvm([]);
  assert.throws(
    () => createVgic(kvm, VM_FD),
    (e: Error) => e instanceof KvmError && /GICv3 failed \(KVM_CREATE_DEVICE: ENODEV\), GICv2 failed \(KVM_CREATE_DEVICE: ENODEV\)/.test(e.message),
  );
});

test('a failing attribute names what was being set', () => {
  const kvm = new FakeKvm();
  const gic = createVgic(kvm, VM_FD);
  assert.throws(() => initVgic(kvm, gic, 1), (e: Error) => e instanceof KvmError && /GICv3: KVM_SET_DEVICE_ATTR for KVM_DEV_ARM_VGIC_CTRL_INIT failed: CTRL_INIT without vCPUs: ENXIO/.test(e.message));
});

test('refuses vCPU counts the GIC cannot serve', () => {
  const kvm = new FakeKvm([KVM_DEV_TYPE.ARM_VGIC_V2]);
  kvm.vcpus = 9;
  const gic = createVgic(kvm, VM_FD);
  assert.throws(() => initVgic(kvm, gic, 9), /GICv2 here supports 1-8 vCPUs, not 9/);
  assert.throws(() => initVgic(kvm, gic, 0), KvmError);
});

test('KVM_IRQ_LINE numbers an SPI by type and INTID', () => {
  assert.equal(spiIrqLine(1), 0x0100_0021, 'type 1 (SPI) << 24 | INTID 33');
  assert.equal(spiIrqLine(95), 0x0100_007f);
  assert.throws(() => spiIrqLine(96), RangeError);
  assert.throws(() => spiIrqLine(-1), RangeError);
});
