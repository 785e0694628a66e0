// KVM device file descriptors (KVM_CREATE_DEVICE): in-kernel devices such as
// the arm64 vGIC, configured through attributes (Documentation/virt/kvm/
// devices/). Structs from linux/kvm.h, laid out in generated/uapi_arm64.ts.
//
// The functions take the two native calls they need as a parameter, so the
// code that drives them (arch/aarch64/gic.ts) is unit-tested with a fake KVM.
import type { Native } from '../native/addon.js';
import { KVM_DEVICE_ATTR, KVM_IOCTL_ARM64 } from './generated/uapi_arm64.js';

/** The native calls the device and arm64 vCPU wrappers use (native/index.d.ts). */
export type Ioctls = Pick<Native, 'ioctl' | 'address'>;

/** struct kvm_create_device: u32 type, u32 fd (out), u32 flags. */
const CREATE_DEVICE = { SIZE: 12, TYPE: 0, FD: 4, FLAGS: 8 } as const;

/** KVM_CREATE_DEVICE on a VM fd; returns the device's fd. Throws the NativeError (ENODEV: type not supported). */
export function createDevice(io: Ioctls, vmFd: number, type: number, flags = 0): number {
  const b = Buffer.alloc(CREATE_DEVICE.SIZE);
  b.writeUInt32LE(type, CREATE_DEVICE.TYPE);
  b.writeUInt32LE(flags, CREATE_DEVICE.FLAGS);
  io.ioctl(vmFd, KVM_IOCTL_ARM64.CREATE_DEVICE, b);
  return b.readUInt32LE(CREATE_DEVICE.FD);
}

/** The value an attribute points at: a u64 (addresses), a u32 (counts), or nothing (commands). */
export type AttrValue = { u64: number } | { u32: number } | undefined;

function attrBuffer(io: Ioctls, group: number, attr: number, value: Buffer | undefined): Buffer {
  const b = Buffer.alloc(KVM_DEVICE_ATTR.SIZE);
  b.writeUInt32LE(group, KVM_DEVICE_ATTR.GROUP);
  b.writeBigUInt64LE(BigInt(attr), KVM_DEVICE_ATTR.ATTR);
  b.writeBigUInt64LE(value === undefined ? 0n : io.address(value), KVM_DEVICE_ATTR.ADDR);
  return b;
}

/** KVM_SET_DEVICE_ATTR (struct kvm_device_attr; addr points at the value). */
export function setDeviceAttr(io: Ioctls, deviceFd: number, group: number, attr: number, value: AttrValue): void {
  let v: Buffer | undefined;
  if (value !== undefined && 'u64' in value) {
    v = Buffer.alloc(8);
    v.writeBigUInt64LE(BigInt(value.u64));
  } else if (value !== undefined) {
    v = Buffer.alloc(4);
    v.writeUInt32LE(value.u32);
  }
  // `v` stays referenced until the ioctl returns: the kernel reads it through the pointer.
  io.ioctl(deviceFd, KVM_IOCTL_ARM64.SET_DEVICE_ATTR, attrBuffer(io, group, attr, v));
}

/** KVM_HAS_DEVICE_ATTR: whether the device knows the attribute (ENXIO means no). */
export function hasDeviceAttr(io: Ioctls, deviceFd: number, group: number, attr: number): boolean {
  try {
    io.ioctl(deviceFd, KVM_IOCTL_ARM64.HAS_DEVICE_ATTR, attrBuffer(io, group, attr, undefined));
    return true;
  } catch {
    return false;
  }
}
