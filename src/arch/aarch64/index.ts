// The aarch64 implementation of the Arch interface: a virt-style board with
// KVM's in-kernel vGIC (v3, else v2) and architected timer, PSCI in KVM, the
// arm64 Image boot protocol with a device tree, an 8250 UART on MMIO and a
// generic ECAM PCI host bridge. Addresses and IRQs: layout.ts.
import type { Arch, BootInfo, BootPlan, KernelImages, MachineContext, PlatformDevices } from '../arch.js';
import type { Kvm } from '../../kvm/system.js';
import type { GsiRoute, VmFd } from '../../kvm/vm.js';
import type { GuestMemory } from '../../memory/guest_memory.js';
import type { PciBus } from '../../pci/pci_bus.js';
import type { Ioctls } from '../../kvm/device.js';
import { native } from '../../native/addon.js';
import { KVM_CAP_ARM64 } from '../../kvm/generated/uapi_arm64.js';
import { PciEcam } from '../../pci/ecam.js';
import { Serial8250 } from '../../devices/legacy/serial8250.js';
import { IRQ, LAYOUT, NR_SPIS, pciIntxSpi, ramRegions } from './layout.js';
import { createVgic, initVgic, spiIrqLine, type Vgic } from './gic.js';
import { loadArm64Boot, planArm64Boot, type Arm64BootPlan } from './boot.js';
import { describeArm64Vcpu, setupBootVcpu } from './vcpu.js';

/** The vCPUs the device tree describes; vmm.ts creates exactly this many (and says so to finishVm). */
const VCPUS = 1;
/** KVM_IRQ_ROUTING_IRQCHIP's irqchip number for the vGIC (arm64 has one). */
const VGIC_IRQCHIP = 0;

/**
 * KVM's routing after vGIC init (kvm_vgic_setup_default_irq_routing): GSI n
 * is SPI n. Kept whole, because KVM_SET_GSI_ROUTING replaces the table.
 */
function defaultGsiRoutes(): GsiRoute[] {
  return Array.from({ length: NR_SPIS }, (_, spi) => ({ gsi: spi, kind: 'irqchip' as const, irqchip: VGIC_IRQCHIP, pin: spi }));
}

function createLegacyDevices(ctx: MachineContext): void {
  // The same 16550A model as COM1 on x86, on the MMIO bus as kvm-host does on
  // arm64 (there is no port I/O here); the device tree calls it ns16550a.
  const irq = spiIrqLine(IRQ.UART_SPI);
  const serial = new Serial8250({
    irq: (level) => ctx.vm.irqLine(irq, level),
    output: ctx.console.output,
    input: ctx.console.input,
  });
  ctx.mmio.register(LAYOUT.UART_START, LAYOUT.UART_SIZE, {
    read: (offset, size) => serial.read(offset, size),
    write: (offset, size, value) => {
      serial.write(offset, size, value);
      ctx.console.rxInterruptEnabled(serial.rxInterruptEnabled);
    },
  });
  // No reset device: PSCI SYSTEM_OFF/SYSTEM_RESET reach the run loop as KVM_EXIT_SYSTEM_EVENT.
}

/** Builds the arm64 Arch; `io` is the native ioctl layer (a fake in tests). */
export function createAarch64(io: Ioctls = native): Arch {
  // Set by setupVm on the main thread; loadKernel and finishVm need it.
  let vgic: Vgic | undefined;
  const needVgic = (step: string): Vgic => {
    if (vgic === undefined) throw new Error(`aarch64 ${step} before setupVm created the vGIC`);
    return vgic;
  };
  return {
    name: 'aarch64',
    requiredCaps: KVM_CAP_ARM64,
    consoleGsi: IRQ.UART_SPI,
    ramRegions,
    // earlycon: output from the first instructions on, before the 8250 driver
    // binds; panic=1: a panicking guest resets through PSCI and the VMM exits.
    baseCmdline: () => `console=ttyS0 earlycon=uart8250,mmio,0x${LAYOUT.UART_START.toString(16)} panic=1`,
    hostQuirk: () => undefined,
    setupVm(_kvm: Kvm, vm: VmFd): void {
      vgic = createVgic(io, vm.fd);
    },
    prepareBoot: (images: KernelImages, memoryBytes: number): BootPlan => planArm64Boot(images, memoryBytes),
    loadKernel(memory: GuestMemory, plan: BootPlan, platform: PlatformDevices): BootInfo {
      for (const d of platform.pci) {
        if (d.gsi !== pciIntxSpi(d.slot)) throw new Error(`PCI slot ${d.slot} raises GSI ${d.gsi}, but the device tree maps it to SPI ${pciIntxSpi(d.slot)}`);
      }
      const entry = loadArm64Boot(memory, plan as Arm64BootPlan, { gicVersion: needVgic('loadKernel').version, vcpus: VCPUS });
      return { format: `${plan.description}, GICv${needVgic('loadKernel').version}`, entry: { pc: entry.pc, fdt: entry.fdt } };
    },
    pciMmioWindow: { start: LAYOUT.PCI_MMIO32_START, end: LAYOUT.PCI_MMIO32_END },
    pciIntxGsi: pciIntxSpi,
    defaultGsiRoutes,
    // MSI routes would start after the SPIs. Without an ITS the device tree
    // names no MSI controller, so Linux uses INTx and none are created.
    firstMsiGsi: NR_SPIS,
    attachPciBus(ctx: MachineContext, bus: PciBus): void {
      ctx.mmio.register(LAYOUT.PCI_ECAM_START, LAYOUT.PCI_ECAM_SIZE, new PciEcam(bus));
    },
    // CPU templates are x86 CPUID policies; an arm64 vCPU is the host's preferred target.
    setupVcpu(_kvm: Kvm, vm: VmFd, vcpuFd: number, boot: BootInfo): void {
      const { pc, fdt } = boot.entry;
      if (pc === undefined || fdt === undefined) throw new Error('aarch64 boot info lacks pc or fdt');
      setupBootVcpu(io, vm.fd, vcpuFd, { pc, fdt });
    },
    finishVm(_kvm: Kvm, _vm: VmFd, vcpuCount: number): void {
      if (vcpuCount !== VCPUS) throw new Error(`the device tree describes ${VCPUS} vCPU(s), not ${vcpuCount}`);
      initVgic(io, needVgic('finishVm'), vcpuCount);
    },
    createLegacyDevices,
    describeVcpu: (vcpuFd: number) => describeArm64Vcpu(io, vcpuFd),
  };
}

export const aarch64: Arch = createAarch64();
