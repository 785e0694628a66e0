// The x86_64 machine as the vCPU thread sees it (MachineArch): COM1 and the
// i8042 reset line on port I/O, PCI configuration mechanism #1, the PIC and
// IOAPIC routing KVM starts with.
import type { MachineArch, MachineContext } from '../arch.js';
import type { GsiRoute } from '../../kvm/vm.js';
import type { PciBus } from '../../pci/pci_bus.js';
import { PciConfigIo } from '../../pci/config_io.js';
import { PC_COM1 } from '../../devices/legacy/serial8250.js';
import { attachConsoleUart } from '../console_uart.js';
import { I8042, I8042_PORT } from '../../devices/legacy/i8042.js';
import { describeVcpu } from './kvm_state.js';
import { LAYOUT } from './layout.js';

/** PCI configuration mechanism #1: CONFIG_ADDRESS at 0xCF8, CONFIG_DATA at 0xCFC-0xCFF (PCI Local Bus 3.0, 3.2.2.3.2). */
const PCI_CONFIG_IO_PORT = 0xcf8;
const PCI_CONFIG_IO_LENGTH = 8;

function createLegacyDevices(ctx: MachineContext): void {
  attachConsoleUart(ctx, ctx.pio, PC_COM1.base, PC_COM1.span, PC_COM1.irq);
  ctx.pio.register(I8042_PORT.DATA, I8042_PORT.COMMAND - I8042_PORT.DATA + 1, new I8042(() => ctx.requestStop({ code: 0, reason: 'the guest rebooted' })));
}

/** KVM's in-kernel irqchip ids (linux/kvm.h KVM_IRQCHIP_*). */
const IRQCHIP = { PIC_MASTER: 0, PIC_SLAVE: 1, IOAPIC: 2 } as const;
/** IOAPIC inputs 16-23 carry PCI INTx (0-15 are the ISA IRQs). */
export const PCI_INTX_FIRST_PIN = 16;
export const PCI_INTX_PINS = 8;

/** KVM's default routing (kvm_setup_default_irq_routing): GSI 0-15 to both PICs and the IOAPIC, 16-23 to the IOAPIC. */
function defaultGsiRoutes(): GsiRoute[] {
  const routes: GsiRoute[] = [];
  for (let gsi = 0; gsi < 24; gsi++) {
    if (gsi < 16) routes.push({ gsi, kind: 'irqchip', irqchip: gsi < 8 ? IRQCHIP.PIC_MASTER : IRQCHIP.PIC_SLAVE, pin: gsi % 8 });
    routes.push({ gsi, kind: 'irqchip', irqchip: IRQCHIP.IOAPIC, pin: gsi });
  }
  return routes;
}

export const x86_64Machine: MachineArch = {
  name: 'x86_64',
  defaultGsiRoutes,
  firstMsiGsi: 24,
  // KVM's in-kernel IOAPIC and LAPIC decode their pages before any exit
  // reaches us; the TSS and identity-map pages are KVM's own.
  reservedRanges: [
    { start: LAYOUT.IOAPIC_START, end: LAYOUT.IOAPIC_START + LAYOUT.IOAPIC_SIZE, name: 'the IOAPIC' },
    { start: LAYOUT.LAPIC_START, end: LAYOUT.LAPIC_START + LAYOUT.LAPIC_SIZE, name: 'the local APIC' },
    { start: LAYOUT.KVM_IDENTITY_MAP_START, end: LAYOUT.KVM_IDENTITY_MAP_START + LAYOUT.KVM_IDENTITY_MAP_SIZE, name: "KVM's identity-map page" },
    { start: LAYOUT.KVM_TSS_ADDRESS, end: LAYOUT.KVM_TSS_ADDRESS + LAYOUT.KVM_TSS_SIZE, name: "KVM's TSS pages" },
  ],
  attachPciBus(ctx: MachineContext, bus: PciBus): void {
    ctx.pio.register(PCI_CONFIG_IO_PORT, PCI_CONFIG_IO_LENGTH, new PciConfigIo(bus));
  },
  createLegacyDevices,
  describeVcpu,
};
