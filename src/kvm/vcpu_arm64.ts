// arm64 vCPU ioctls: the preferred target, KVM_ARM_VCPU_INIT and register
// access through KVM_{GET,SET}_ONE_REG (arm64 has no KVM_SET_REGS/SREGS in
// use; every register has a 64-bit id). Structs from asm/kvm.h, laid out in
// generated/uapi_arm64.ts. Like device.ts, the native calls are a parameter.
import type { Ioctls } from './device.js';
import { KVM_IOCTL_ARM64, KVM_ONE_REG, KVM_VCPU_INIT } from './generated/uapi_arm64.js';

export interface VcpuInit {
  target: number;
  /** features[0..6], bit n of word n/32 = feature n. */
  features: number[];
}

/** KVM_ARM_PREFERRED_TARGET on the VM fd: the target (and default features) for this host's CPUs. */
export function armPreferredTarget(io: Ioctls, vmFd: number): VcpuInit {
  const b = Buffer.alloc(KVM_VCPU_INIT.SIZE);
  io.ioctl(vmFd, KVM_IOCTL_ARM64.ARM_PREFERRED_TARGET, b);
  return {
    target: b.readUInt32LE(KVM_VCPU_INIT.TARGET),
    features: Array.from({ length: KVM_VCPU_INIT.FEATURE_WORDS }, (_, i) => b.readUInt32LE(KVM_VCPU_INIT.FEATURES + i * 4)),
  };
}

/** KVM_ARM_VCPU_INIT: resets the vCPU to the target with the given features. */
export function armVcpuInit(io: Ioctls, vcpuFd: number, init: VcpuInit): void {
  const b = Buffer.alloc(KVM_VCPU_INIT.SIZE);
  b.writeUInt32LE(init.target, KVM_VCPU_INIT.TARGET);
  init.features.slice(0, KVM_VCPU_INIT.FEATURE_WORDS).forEach((w, i) => b.writeUInt32LE(w >>> 0, KVM_VCPU_INIT.FEATURES + i * 4));
  io.ioctl(vcpuFd, KVM_IOCTL_ARM64.ARM_VCPU_INIT, b);
}

function oneReg(io: Ioctls, id: bigint, value: Buffer): Buffer {
  const b = Buffer.alloc(KVM_ONE_REG.SIZE);
  b.writeBigUInt64LE(id, KVM_ONE_REG.ID);
  b.writeBigUInt64LE(io.address(value), KVM_ONE_REG.ADDR);
  return b;
}

/** KVM_SET_ONE_REG for a 64-bit register. */
export function setOneReg(io: Ioctls, vcpuFd: number, id: bigint, value: bigint): void {
  const v = Buffer.alloc(8);
  v.writeBigUInt64LE(value);
  io.ioctl(vcpuFd, KVM_IOCTL_ARM64.SET_ONE_REG, oneReg(io, id, v));
}

/** KVM_GET_ONE_REG for a 64-bit register. */
export function getOneReg(io: Ioctls, vcpuFd: number, id: bigint): bigint {
  const v = Buffer.alloc(8);
  io.ioctl(vcpuFd, KVM_IOCTL_ARM64.GET_ONE_REG, oneReg(io, id, v));
  return v.readBigUInt64LE(0);
}
