// The aarch64 implementation of the Arch interface: a virt-style board with
// KVM's in-kernel vGIC (v3, else v2) and architected timer, PSCI in KVM, the
// arm64 Image boot protocol with a device tree, an 8250 UART on MMIO and a
// generic ECAM PCI host bridge. Addresses and IRQs: layout.ts; the vCPU
// thread's part (UART, ECAM, SPI routing): machine.ts.
import { ArchLimitError, type Arch, type BootInfo, type BootPlan, type KernelImages, type PlatformDevices } from '../arch.js';
import type { Kvm } from '../../kvm/system.js';
import type { VmFd } from '../../kvm/vm.js';
import type { GuestMemory } from '../../memory/guest_memory.js';
import type { Ioctls } from '../../kvm/device.js';
import { native } from '../../native/addon.js';
import { KVM_CAP_ARM64 } from '../../kvm/generated/uapi_arm64.js';
import { IRQ, LAYOUT, pciIntxSpi, ramRegions } from './layout.js';
import { createVgic, initVgic, maxVcpus, type Vgic } from './gic.js';
import { loadArm64Boot, planArm64Boot, type Arm64BootPlan } from './boot.js';
import { initVcpu, setBootRegisters } from './vcpu.js';
import { createAarch64Machine } from './machine.js';

/** Builds the arm64 Arch; `io` is the native ioctl layer (a fake in tests). */
export function createAarch64(io: Ioctls = native): Arch {
  // Set by setupVm on the main thread; loadKernel and finishVm need it.
  let vgic: Vgic | undefined;
  const needVgic = (step: string): Vgic => {
    if (vgic === undefined) throw new Error(`aarch64 ${step} before setupVm created the vGIC`);
    return vgic;
  };
  return {
    ...createAarch64Machine(io),
    requiredCaps: KVM_CAP_ARM64,
    consoleGsi: IRQ.UART_SPI,
    ramRegions,
    // earlycon: output from the first instructions on, before the 8250 driver
    // binds; panic=1: a panicking guest resets through PSCI and the VMM exits.
    baseCmdline: () => `console=ttyS0 earlycon=uart8250,mmio,0x${LAYOUT.UART_START.toString(16)} panic=1`,
    hostQuirk: () => undefined,
    setupVm(_kvm: Kvm, vm: VmFd, vcpus: number): void {
      vgic = createVgic(io, vm.fd);
      const max = maxVcpus(vgic.version);
      if (vcpus > max) throw new ArchLimitError(`this host's GICv${vgic.version} gives a guest at most ${max} vCPUs, not ${vcpus}`);
    },
    prepareBoot: (images: KernelImages, memoryBytes: number): BootPlan => planArm64Boot(images, memoryBytes),
    loadKernel(memory: GuestMemory, plan: BootPlan, platform: PlatformDevices): BootInfo {
      for (const d of platform.pci) {
        if (d.gsi !== pciIntxSpi(d.slot)) throw new Error(`PCI slot ${d.slot} raises GSI ${d.gsi}, but the device tree maps it to SPI ${pciIntxSpi(d.slot)}`);
      }
      const entry = loadArm64Boot(memory, plan as Arm64BootPlan, { gicVersion: needVgic('loadKernel').version, mpidrs: platform.cpus });
      return { format: `${plan.description}, GICv${needVgic('loadKernel').version}`, entry: { pc: entry.pc, fdt: entry.fdt } };
    },
    pciMmioWindow: { start: LAYOUT.PCI_MMIO32_START, end: LAYOUT.PCI_MMIO32_END },
    pciIntxGsi: pciIntxSpi,
    initVcpu: (_kvm: Kvm, vm: VmFd, vcpuFd: number, id: number): number => initVcpu(io, vm.fd, vcpuFd, id),
    // CPU templates are x86 CPUID policies; an arm64 vCPU is the host's preferred target.
    // The secondaries stay powered off until the guest's PSCI CPU_ON.
    setupVcpu(_kvm: Kvm, _vm: VmFd, vcpuFd: number, id: number, _count: number, boot: BootInfo): void {
      if (id !== 0) return;
      const { pc, fdt } = boot.entry;
      if (pc === undefined || fdt === undefined) throw new Error('aarch64 boot info lacks pc or fdt');
      setBootRegisters(io, vcpuFd, { pc, fdt });
    },
    finishVm(_kvm: Kvm, _vm: VmFd, vcpuCount: number): void {
      initVgic(io, needVgic('finishVm'), vcpuCount);
    },
  };
}

export const aarch64: Arch = createAarch64();
