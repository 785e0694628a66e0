import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Drive } from './bodies.js';
import { ApiError } from './errors.js';
import { FC_DEFAULT_MACHINE, VmResources } from './resources.js';

function resources(log: string[] = []): VmResources {
  const r = new VmResources({ seccomp: 'kill', log: (l) => log.push(l) });
  r.setBootSource({ kernelImagePath: '/k', initrdPath: undefined, bootArgs: undefined });
  return r;
}

const drive = (driveId: string, isRootDevice: boolean, extra: Partial<Drive> = {}): Drive => ({
  driveId,
  pathOnHost: `/${driveId}.img`,
  isRootDevice,
  isReadOnly: false,
  partuuid: undefined,
  ...extra,
});

test("defaults are Firecracker's: 1 vCPU, 128 MiB, no devices, no append; seccomp is passed through", () => {
  const c = resources().toVmConfig();
  assert.deepEqual(FC_DEFAULT_MACHINE, { vcpuCount: 1, memSizeMib: 128 });
  assert.equal(c.cpus, 1);
  assert.equal(c.memoryBytes, 128 * 1024 * 1024);
  assert.deepEqual([c.disks, c.nets, c.append, c.seccomp, c.kernel], [[], [], undefined, 'kill', '/k']);
});

test('the root device is the first disk whenever it was PUT; the others keep first-PUT order', () => {
  const r = resources();
  r.putDrive(drive('b', false));
  r.putDrive(drive('root', true));
  r.putDrive(drive('a', false));
  r.putDrive(drive('b', false, { isReadOnly: true })); // update in place: b stays before a
  const c = r.toVmConfig();
  assert.deepEqual(c.disks.map((d) => d.path), ['/root.img', '/b.img', '/a.img']);
  assert.equal(c.disks[1]?.readOnly, true);
  assert.equal(c.append, 'root=/dev/vda rw');
});

test('at most one root device; the same root may be PUT again', () => {
  const r = resources();
  r.putDrive(drive('root', true));
  r.putDrive(drive('root', true, { isReadOnly: true }));
  assert.throws(() => r.putDrive(drive('other', true)), (e: unknown) => e instanceof ApiError && /root block device already exists: drive "root"/.test(e.message));
  assert.equal(r.toVmConfig().disks.length, 1);
  assert.equal(r.toVmConfig().append, 'root=/dev/vda ro');
  // It can stop being root, and another may then take its place.
  r.putDrive(drive('root', false));
  r.putDrive(drive('other', true));
  assert.deepEqual(r.toVmConfig().disks.map((d) => d.path), ['/other.img', '/root.img']);
});

test('root args follow boot_args; partuuid selects the partition; pci=off is dropped with one notice', () => {
  const log: string[] = [];
  const r = resources(log);
  r.setBootSource({ kernelImagePath: '/k', initrdPath: '/i', bootArgs: 'console=ttyS0 pci=off quiet' });
  r.putDrive(drive('root', true, { partuuid: 'abcd-01', isReadOnly: true }));
  const c = r.toVmConfig();
  assert.equal(c.append, 'console=ttyS0 quiet root=PARTUUID=abcd-01 ro');
  assert.equal(c.initrd, '/i');
  assert.equal(log.length, 1);
  r.toVmConfig();
  assert.equal(log.length, 1, 'the notice is given when boot-source is set, not at every use');
});

test('no boot source: InstanceStart is refused', () => {
  const r = new VmResources({ seccomp: 'off', log: () => {} });
  assert.throws(() => r.toVmConfig(), (e: unknown) => e instanceof ApiError && /without kernel configuration/.test(e.message));
});

test('network interfaces: unique TAP names and MACs; the same id replaces in place', () => {
  const r = resources();
  r.putNetworkInterface({ ifaceId: 'eth0', hostDevName: 'tap0', guestMac: 'aa:fc:00:00:00:01' });
  r.putNetworkInterface({ ifaceId: 'eth1', hostDevName: 'tap1', guestMac: undefined });
  assert.throws(() => r.putNetworkInterface({ ifaceId: 'eth2', hostDevName: 'tap0', guestMac: undefined }), /host device name tap0 is already in use by network interface "eth0"/);
  assert.throws(() => r.putNetworkInterface({ ifaceId: 'eth2', hostDevName: 'tap2', guestMac: 'aa:fc:00:00:00:01' }), /MAC address aa:fc:00:00:00:01 is already in use/);
  r.putNetworkInterface({ ifaceId: 'eth0', hostDevName: 'tap9', guestMac: undefined });
  assert.deepEqual(r.toVmConfig().nets, [
    { tap: 'tap9', mac: undefined },
    { tap: 'tap1', mac: undefined },
  ]);
});

test('machine config: PUT replaces, PATCH merges', () => {
  const r = resources();
  r.setMachineConfig({ vcpuCount: 4, memSizeMib: 512 });
  r.updateMachineConfig({ memSizeMib: 1024 });
  assert.deepEqual(r.machineConfig, { vcpuCount: 4, memSizeMib: 1024 });
  assert.equal(r.toVmConfig().memoryBytes, 1024 * 1024 * 1024);
});
