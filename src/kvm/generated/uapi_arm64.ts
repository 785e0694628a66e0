// arm64 KVM constants and struct layouts, transcribed from the arm64 UAPI
// headers: <asm/kvm.h> and <asm/ptrace.h> for arm64, plus the arm64 parts of
// <linux/kvm.h> (kernel 6.1, Debian 12's linux-libc-dev-arm64-cross). The
// generic ioctls (KVM_RUN, KVM_IRQFD, ...) have the same numbers on every
// architecture and stay in uapi.ts. uapi_arm64.test.ts turns every value here
// into a _Static_assert and compiles it with aarch64-linux-gnu-gcc against
// the real arm64 headers, so a typo fails a test without an arm64 machine.
import { KVMIO, KVM_IOCTL, iow } from './uapi.js';

/** struct kvm_device_attr: u32 flags, u32 group, u64 attr, u64 addr (a pointer to the value). */
export const KVM_DEVICE_ATTR = { SIZE: 24, FLAGS: 0, GROUP: 4, ATTR: 8, ADDR: 16 } as const;

/** struct kvm_one_reg: u64 id, u64 addr (a pointer to the register's value). */
export const KVM_ONE_REG = { SIZE: 16, ID: 0, ADDR: 8 } as const;

/** struct kvm_vcpu_init: u32 target, u32 features[7]. */
export const KVM_VCPU_INIT = { SIZE: 32, TARGET: 0, FEATURES: 4, FEATURE_WORDS: 7 } as const;

/** The ioctls the arm64 path issues beyond the common ones (linux/kvm.h). */
export const KVM_IOCTL_ARM64 = {
  ARM_VCPU_INIT: KVM_IOCTL.ARM_VCPU_INIT,
  ARM_PREFERRED_TARGET: KVM_IOCTL.ARM_PREFERRED_TARGET,
  GET_ONE_REG: KVM_IOCTL.GET_ONE_REG,
  SET_ONE_REG: KVM_IOCTL.SET_ONE_REG,
  CREATE_DEVICE: KVM_IOCTL.CREATE_DEVICE,
  SET_DEVICE_ATTR: KVM_IOCTL.SET_DEVICE_ATTR,
  GET_DEVICE_ATTR: iow(KVMIO, 0xe2, KVM_DEVICE_ATTR.SIZE),
  HAS_DEVICE_ATTR: iow(KVMIO, 0xe3, KVM_DEVICE_ATTR.SIZE),
} as const;

/** Capabilities the arm64 machine needs (linux/kvm.h KVM_CAP_*). */
export const KVM_CAP_ARM64 = {
  IRQCHIP: 0,
  USER_MEMORY: 3,
  IRQ_ROUTING: 25,
  IRQFD: 32,
  IOEVENTFD: 36,
  ONE_REG: 70,
  DEVICE_CTRL: 89,
  ARM_PSCI_0_2: 102,
} as const;

/** enum kvm_device_type (linux/kvm.h): the in-kernel GIC models. */
export const KVM_DEV_TYPE = { ARM_VGIC_V2: 5, ARM_VGIC_V3: 7 } as const;

/** kvm_create_device.flags: only check that the type could be created. */
export const KVM_CREATE_DEVICE_TEST = 1;

/** Attribute groups of the vGIC devices (asm/kvm.h KVM_DEV_ARM_VGIC_GRP_*). */
export const KVM_DEV_ARM_VGIC_GRP = { ADDR: 0, NR_IRQS: 3, CTRL: 4 } as const;

/** KVM_DEV_ARM_VGIC_GRP_CTRL attribute: initialise the vGIC (after all vCPUs exist). */
export const KVM_DEV_ARM_VGIC_CTRL_INIT = 0;

/** KVM_DEV_ARM_VGIC_GRP_ADDR attributes: which region's base address is set (asm/kvm.h). */
export const KVM_VGIC_ADDR_TYPE = {
  V2_DIST: 0,
  V2_CPU: 1,
  V3_DIST: 2,
  V3_REDIST: 3,
} as const;

/** Region sizes the vGIC decodes (asm/kvm.h KVM_VGIC_V2_*_SIZE, KVM_VGIC_V3_*_SIZE). */
export const KVM_VGIC_SIZE = {
  V2_DIST: 0x1000,
  V2_CPU: 0x2000,
  V3_DIST: 0x10000,
  /** One redistributor per vCPU: RD_base + SGI_base frames of 64 KiB each. */
  V3_REDIST: 0x20000,
} as const;

/** Bits of kvm_vcpu_init.features[0] (asm/kvm.h KVM_ARM_VCPU_*). */
export const KVM_ARM_VCPU_FEATURE = { POWER_OFF: 0, EL1_32BIT: 1, PSCI_0_2: 2, PMU_V3: 3 } as const;

/** KVM_IRQ_LINE's irq field on arm64: type << 24 | vcpu << 16 | number (asm/kvm.h KVM_ARM_IRQ_*). */
export const KVM_ARM_IRQ = { TYPE_SHIFT: 24, TYPE_SPI: 1, TYPE_PPI: 2, VCPU_SHIFT: 16 } as const;

/** ONE_REG id fields (linux/kvm.h KVM_REG_ARM64, KVM_REG_SIZE_U64; asm/kvm.h KVM_REG_ARM_CORE). */
export const KVM_REG = {
  ARM64: 0x6000000000000000n,
  SIZE_U64: 0x0030000000000000n,
  ARM_CORE: 0x0010n << 16n,
  /** KVM_REG_ARM64_SYSREG: a system register, encoded op0:op1:CRn:CRm:op2 (asm/kvm.h). */
  ARM64_SYSREG: 0x0013n << 16n,
} as const;

/**
 * Byte offsets in struct kvm_regs (asm/kvm.h): struct user_pt_regs regs
 * (u64 regs[31], sp, pc, pstate; asm/ptrace.h) comes first, then sp_el1,
 * elr_el1, spsr[5] and the FP/SIMD state.
 */
export const KVM_REGS_OFFSET = {
  X0: 0,
  SP: 31 * 8,
  PC: 32 * 8,
  PSTATE: 33 * 8,
  SP_EL1: 34 * 8,
} as const;

/** Processor state bits (asm/ptrace.h PSR_*). */
export const PSR = {
  MODE_EL1H: 0x5,
  F_BIT: 0x40,
  I_BIT: 0x80,
  A_BIT: 0x100,
  D_BIT: 0x200,
} as const;

/**
 * ONE_REG id of a 64-bit core register at byte `offset` in struct kvm_regs:
 * the kernel's KVM_REG_ARM_CORE_REG(name), offset in 32-bit words.
 */
export function coreRegId(offset: number): bigint {
  if (!Number.isInteger(offset) || offset < 0 || offset % 8 !== 0) throw new RangeError(`core register offset ${offset} is not a u64 slot`);
  return KVM_REG.ARM64 | KVM_REG.SIZE_U64 | KVM_REG.ARM_CORE | BigInt(offset / 4);
}

/** ONE_REG id of system register (op0, op1, CRn, CRm, op2): the kernel's ARM64_SYS_REG(). */
export function sysRegId(op0: number, op1: number, crn: number, crm: number, op2: number): bigint {
  return KVM_REG.ARM64 | KVM_REG.SIZE_U64 | KVM_REG.ARM64_SYSREG | BigInt((op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2);
}

/** MPIDR_EL1 (Arm ARM D19.2: op0 3, op1 0, CRn 0, CRm 0, op2 5): the vCPU's affinity, set by KVM. */
export const MPIDR_EL1 = sysRegId(3, 0, 0, 0, 5);
/** MPIDR_EL1's affinity fields Aff2:Aff1:Aff0 (bits 23:0); Aff3 (39:32) stays 0 under KVM. */
export const MPIDR_AFFINITY_MASK = 0xff_ffff;
