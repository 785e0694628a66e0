// The arm64 machine as the vCPU thread sees it (MachineArch): the 8250 on
// MMIO, PCI through ECAM, the vGIC's SPI routing.
import type { MachineArch, MachineContext } from '../arch.js';
import type { GsiRoute } from '../../kvm/vm.js';
import type { PciBus } from '../../pci/pci_bus.js';
import type { Ioctls } from '../../kvm/device.js';
import { native } from '../../native/addon.js';
import { PciEcam } from '../../pci/ecam.js';
import { attachConsoleUart } from '../console_uart.js';
import { IRQ, LAYOUT, NR_SPIS, redistSize } from './layout.js';
import { spiIrqLine } from './gic.js';
import { describeArm64Vcpu } from './vcpu.js';

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
  attachConsoleUart(ctx, ctx.mmio, LAYOUT.UART_START, LAYOUT.UART_SIZE, spiIrqLine(IRQ.UART_SPI));
  // No reset device: PSCI SYSTEM_OFF/SYSTEM_RESET reach the run loop as KVM_EXIT_SYSTEM_EVENT.
}

/** The vCPU thread's part of the arm64 Arch; `io` is the native ioctl layer (a fake in tests). */
export function createAarch64Machine(io: Ioctls = native): MachineArch {
  return {
    name: 'aarch64',
    defaultGsiRoutes,
    // MSI routes would start after the SPIs. Without an ITS the device tree
    // names no MSI controller, so Linux uses INTx and none are created.
    firstMsiGsi: NR_SPIS,
    // The vGIC, decoded inside KVM: the distributor, the GICv2 CPU interface
    // and the GICv3 redistributor region, whichever version KVM gave us.
    reservedRanges: [
      { start: LAYOUT.GIC_DIST_START, end: LAYOUT.GIC_DIST_START + LAYOUT.GIC_DIST_SIZE, name: 'the GIC distributor' },
      { start: LAYOUT.GIC_CPU_START, end: LAYOUT.GIC_CPU_START + LAYOUT.GIC_CPU_SIZE, name: 'the GIC CPU interface' },
      { start: LAYOUT.GIC_REDIST_START, end: LAYOUT.GIC_REDIST_START + redistSize(LAYOUT.MAX_VCPUS), name: 'the GIC redistributors' },
    ],
    attachPciBus(ctx: MachineContext, bus: PciBus): void {
      ctx.mmio.register(LAYOUT.PCI_ECAM_START, LAYOUT.PCI_ECAM_SIZE, new PciEcam(bus));
    },
    createLegacyDevices,
    describeVcpu: (vcpuFd: number) => describeArm64Vcpu(io, vcpuFd),
  };
}

export const aarch64Machine: MachineArch = createAarch64Machine();
