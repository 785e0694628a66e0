// vCPU set-up: KVM_ARM_VCPU_INIT with PSCI 0.2 on every vCPU (so KVM answers
// the guest's PSCI calls: CPU_ON, SYSTEM_OFF, SYSTEM_RESET, the last two as
// KVM_EXIT_SYSTEM_EVENT) and POWER_OFF on the secondaries (they wait for the
// guest's PSCI CPU_ON, which KVM handles: it resets them and sets their entry
// point), then the registers of the arm64 boot protocol on the boot vCPU.
//
// Source: Documentation/arch/arm64/booting.rst, "Call the kernel image":
// x0 = physical address of the device tree, x1 = x2 = x3 = 0, MMU and
// D-cache off (KVM_ARM_VCPU_INIT resets SCTLR_EL1 that way), all interrupts
// masked in PSTATE.DAIF, the CPU at EL1 (EL2 is KVM's), using SP_EL1 (EL1h).
import type { Ioctls } from '../../kvm/device.js';
import { armPreferredTarget, armVcpuInit, getOneReg, setOneReg } from '../../kvm/vcpu_arm64.js';
import { KVM_ARM_VCPU_FEATURE, KVM_REGS_OFFSET, MPIDR_AFFINITY_MASK, MPIDR_EL1, PSR, coreRegId } from '../../kvm/generated/uapi_arm64.js';
import { KvmError } from '../../kvm/errors.js';

/** The entry state loadKernel hands to setupVcpu (plain numbers: it crosses threads). */
export interface Arm64Entry {
  /** Kernel entry point: the first byte of the loaded Image. */
  pc: number;
  /** Guest-physical address of the DTB, passed in x0. */
  fdt: number;
}

/** PSTATE at entry: EL1h with debug, SError, IRQ and FIQ masked. */
export const BOOT_PSTATE = PSR.MODE_EL1H | PSR.D_BIT | PSR.A_BIT | PSR.I_BIT | PSR.F_BIT;

export interface RegWrite {
  readonly name: string;
  readonly id: bigint;
  readonly value: bigint;
}

const xReg = (n: number): bigint => coreRegId(KVM_REGS_OFFSET.X0 + n * 8);

/** The core registers the boot protocol sets, in the order they are written. */
export function bootRegisters(e: Arm64Entry): RegWrite[] {
  return [
    { name: 'pstate', id: coreRegId(KVM_REGS_OFFSET.PSTATE), value: BigInt(BOOT_PSTATE) },
    { name: 'x0', id: xReg(0), value: BigInt(e.fdt) },
    { name: 'x1', id: xReg(1), value: 0n },
    { name: 'x2', id: xReg(2), value: 0n },
    { name: 'x3', id: xReg(3), value: 0n },
    { name: 'pc', id: coreRegId(KVM_REGS_OFFSET.PC), value: BigInt(e.pc) },
  ];
}

/**
 * KVM_ARM_VCPU_INIT for vCPU `id` (0 boots; the others start powered off)
 * and its MPIDR affinity as KVM set it, for the device tree's cpu nodes.
 */
export function initVcpu(io: Ioctls, vmFd: number, vcpuFd: number, id: number): number {
  let target;
  try {
    target = armPreferredTarget(io, vmFd);
  } catch (err) {
    throw new KvmError(`KVM_ARM_PREFERRED_TARGET failed: ${(err as Error).message}`, { cause: err });
  }
  const features = [...target.features];
  features[0] = (features[0] ?? 0) | (1 << KVM_ARM_VCPU_FEATURE.PSCI_0_2) | (id === 0 ? 0 : 1 << KVM_ARM_VCPU_FEATURE.POWER_OFF);
  try {
    armVcpuInit(io, vcpuFd, { target: target.target, features });
  } catch (err) {
    throw new KvmError(`KVM_ARM_VCPU_INIT of vCPU ${id} (target ${target.target}, PSCI 0.2${id === 0 ? '' : ', powered off'}) failed: ${(err as Error).message}`, { cause: err });
  }
  try {
    return Number(getOneReg(io, vcpuFd, MPIDR_EL1) & BigInt(MPIDR_AFFINITY_MASK));
  } catch (err) {
    throw new KvmError(`KVM_GET_ONE_REG MPIDR_EL1 of vCPU ${id} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Points the boot vCPU (already initialised) at the kernel. */
export function setBootRegisters(io: Ioctls, vcpuFd: number, entry: Arm64Entry): void {
  for (const r of bootRegisters(entry)) {
    try {
      setOneReg(io, vcpuFd, r.id, r.value);
    } catch (err) {
      throw new KvmError(`KVM_SET_ONE_REG ${r.name} = 0x${r.value.toString(16)} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** "PC 0x..., PSTATE 0x..." for a failure line; never throws. */
export function describeArm64Vcpu(io: Ioctls, vcpuFd: number): string {
  try {
    const pc = getOneReg(io, vcpuFd, coreRegId(KVM_REGS_OFFSET.PC));
    const pstate = getOneReg(io, vcpuFd, coreRegId(KVM_REGS_OFFSET.PSTATE));
    return `PC 0x${pc.toString(16)}, PSTATE 0x${pstate.toString(16)}`;
  } catch (err) {
    return `PC unavailable (${(err as Error).message})`;
  }
}
