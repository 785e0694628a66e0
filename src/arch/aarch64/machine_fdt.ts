// The arm64 machine's device tree: what Linux learns instead of ACPI tables.
// It describes exactly layout.ts: RAM, the vCPUs (started through PSCI), the
// vGIC KVM emulates, the architected timer, the console UART, the PCI host
// bridge and the boot arguments.
//
// Sources (bindings under Documentation/devicetree/bindings/ in Linux):
// arm/cpus.yaml, arm/psci.yaml, interrupt-controller/arm,gic-v3.yaml and
// arm,gic.yaml, timer/arm,arch_timer.yaml, serial/8250.yaml,
// pci/host-generic-pci.yaml and the PCI bus binding (IEEE 1275 PCI: 3-cell
// addresses, interrupt-map), chosen.yaml (dt-schema).
import { FdtWriter, cells64 } from './fdt.js';
import { IRQ, LAYOUT, redistSize } from './layout.js';
import { KVM_VGIC_SIZE } from '../../kvm/generated/uapi_arm64.js';
import { maxVcpus } from './gic.js';

/** GIC interrupt specifier cells: <type number flags> (arm,gic binding). */
export const GIC_FDT = {
  SPI: 0,
  PPI: 1,
  /** include/dt-bindings/interrupt-controller/irq.h IRQ_TYPE_*. */
  EDGE_RISING: 1,
  LEVEL_HIGH: 4,
  LEVEL_LOW: 8,
} as const;

/** PCI phys.hi cell of a 32-bit memory space range: ss = 10 (PCI bus binding 2.2.1.1). */
const PCI_SPACE_MEM32 = 0x0200_0000;
/** interrupt-map-mask: device number bits of phys.hi, and the pin (INTA#..INTD# = 1..4). */
const PCI_IRQ_MAP_MASK = [0xf800, 0, 0, 7] as const;
const PCI_INTA = 1;
/** The UART input clock: the PC's 1.8432 MHz, so divisor 1 is 115200 baud as on x86. */
export const UART_CLOCK_HZ = 1_843_200;

export interface MachineFdtConfig {
  memoryBytes: number;
  /** Each vCPU's MPIDR affinity (KVM_GET_ONE_REG MPIDR_EL1), index = vCPU id; 0 boots. */
  mpidrs: readonly number[];
  gicVersion: 2 | 3;
  cmdline: string;
  initrd: { start: number; end: number } | undefined;
}

/** The MPIDR affinity KVM gives vCPU `id` (arch/arm64/kvm/sys_regs.c reset_mpidr): the cpu node's reg. */
export function vcpuMpidr(id: number): number {
  return (id & 0x0f) | (((id >> 4) & 0xff) << 8) | (((id >> 12) & 0xff) << 16);
}

export const UART_NODE = `serial@${LAYOUT.UART_START.toString(16)}`;

const reg = (base: number, size: number): number[] => [...cells64(base), ...cells64(size)];

function cpus(w: FdtWriter, mpidrs: readonly number[]): void {
  w.beginNode('cpus');
  w.propU32('#address-cells', 1);
  w.propU32('#size-cells', 0);
  for (const mpidr of mpidrs) {
    w.beginNode(`cpu@${mpidr.toString(16)}`);
    w.propString('device_type', 'cpu');
    w.propString('compatible', 'arm,arm-v8');
    w.propString('enable-method', 'psci');
    w.propU32('reg', mpidr);
    w.endNode();
  }
  w.endNode();
}

function gic(w: FdtWriter, version: 2 | 3, vcpus: number): void {
  w.beginNode(`interrupt-controller@${LAYOUT.GIC_DIST_START.toString(16)}`);
  if (version === 3) {
    w.propString('compatible', 'arm,gic-v3');
    w.propCells('reg', [...reg(LAYOUT.GIC_DIST_START, LAYOUT.GIC_DIST_SIZE), ...reg(LAYOUT.GIC_REDIST_START, redistSize(vcpus))]);
  } else {
    w.propString('compatible', 'arm,cortex-a15-gic');
    w.propCells('reg', [...reg(LAYOUT.GIC_DIST_START, KVM_VGIC_SIZE.V2_DIST), ...reg(LAYOUT.GIC_CPU_START, LAYOUT.GIC_CPU_SIZE)]);
  }
  w.propEmpty('interrupt-controller');
  w.propU32('#interrupt-cells', 3);
  // No child nodes (no ITS): interrupt-map entries give this parent no unit-address cells.
  w.propU32('#address-cells', 0);
  w.claimPhandle('gic');
  w.endNode();
}

function timer(w: FdtWriter, version: 2 | 3, vcpus: number): void {
  // GICv2 PPI flags carry a mask of the CPUs the PPI is wired to (bits 8-15); GICv3 has none.
  const cpuMask = version === 2 ? ((1 << Math.min(vcpus, 8)) - 1) << 8 : 0;
  const ppi = (n: number): number[] => [GIC_FDT.PPI, n, cpuMask | GIC_FDT.LEVEL_LOW];
  w.beginNode('timer');
  w.propString('compatible', 'arm,armv8-timer');
  // Order fixed by the binding: secure, non-secure, virtual, hypervisor physical timer.
  w.propCells('interrupts', [...ppi(IRQ.TIMER_SECURE_PPI), ...ppi(IRQ.TIMER_NONSECURE_PPI), ...ppi(IRQ.TIMER_VIRTUAL_PPI), ...ppi(IRQ.TIMER_HYP_PPI)]);
  w.endNode();
}

function uart(w: FdtWriter): void {
  // The project's 8250 model (devices/legacy/serial8250.ts) on the MMIO bus, as
  // kvm-host does on arm64; Linux's of_serial driver binds it as a 16550A.
  // Edge triggered: a rising IRQ line latches in the GIC, so the console's
  // irqfd pulse (vmm.ts: input arrived) is never lost, as with the PC's ISA IRQ 4.
  w.beginNode(UART_NODE);
  w.propString('compatible', 'ns16550a');
  w.propCells('reg', reg(LAYOUT.UART_START, LAYOUT.UART_SIZE));
  w.propCells('interrupts', [GIC_FDT.SPI, IRQ.UART_SPI, GIC_FDT.EDGE_RISING]);
  w.propU32('clock-frequency', UART_CLOCK_HZ);
  w.endNode();
}

function pci(w: FdtWriter): void {
  const size = LAYOUT.PCI_MMIO32_END - LAYOUT.PCI_MMIO32_START;
  w.beginNode(`pci@${LAYOUT.PCI_ECAM_START.toString(16)}`);
  w.propString('compatible', 'pci-host-ecam-generic');
  w.propString('device_type', 'pci');
  w.propU32('#address-cells', 3);
  w.propU32('#size-cells', 2);
  w.propU32('#interrupt-cells', 1);
  w.propCells('bus-range', [0, LAYOUT.PCI_ECAM_SIZE / (1 << 20) - 1]);
  w.propCells('reg', reg(LAYOUT.PCI_ECAM_START, LAYOUT.PCI_ECAM_SIZE));
  // PCI memory addresses equal CPU addresses in the 32-bit window. No I/O space
  // and no 64-bit window: virtio-pci BARs are 32-bit memory here.
  w.propCells('ranges', [PCI_SPACE_MEM32, ...cells64(LAYOUT.PCI_MMIO32_START), ...cells64(LAYOUT.PCI_MMIO32_START), ...cells64(size)]);
  // Guest RAM is ordinary cacheable memory to KVM: no cache maintenance for DMA.
  w.propEmpty('dma-coherent');
  // INTA# of every slot on its own level-triggered SPI. No msi-parent: Linux
  // marks the bus NO_MSI and virtio-pci falls back to INTx (there is no ITS).
  const gicPhandle = w.phandle('gic');
  const map: number[] = [];
  for (let slot = 0; slot < IRQ.PCI_SLOTS; slot++) {
    map.push(slot << 11, 0, 0, PCI_INTA, gicPhandle, GIC_FDT.SPI, IRQ.PCI_INTX_SPI_BASE + slot, GIC_FDT.LEVEL_HIGH);
  }
  w.propCells('interrupt-map-mask', PCI_IRQ_MAP_MASK);
  w.propCells('interrupt-map', map);
  w.endNode();
}

/** Builds the DTB for the machine in layout.ts. */
export function buildMachineFdt(c: MachineFdtConfig): Uint8Array {
  const vcpus = c.mpidrs.length;
  if (vcpus < 1 || vcpus > maxVcpus(c.gicVersion)) throw new RangeError(`${vcpus} vCPUs do not fit a GICv${c.gicVersion} here`);
  if (new Set(c.mpidrs).size !== vcpus) throw new RangeError(`two vCPUs share an MPIDR: ${c.mpidrs.map((m) => m.toString(16)).join(', ')}`);
  const w = new FdtWriter();
  w.beginNode('');
  w.propString('compatible', 'linux,dummy-virt');
  w.propString('model', 'tsvmm');
  w.propU32('#address-cells', 2);
  w.propU32('#size-cells', 2);
  w.propU32('interrupt-parent', w.phandle('gic'));

  w.beginNode('chosen');
  w.propString('bootargs', c.cmdline);
  w.propString('stdout-path', `/${UART_NODE}`);
  if (c.initrd !== undefined) {
    w.propU64('linux,initrd-start', c.initrd.start);
    w.propU64('linux,initrd-end', c.initrd.end);
  }
  w.endNode();

  w.beginNode(`memory@${LAYOUT.RAM_START.toString(16)}`);
  w.propString('device_type', 'memory');
  w.propCells('reg', reg(LAYOUT.RAM_START, c.memoryBytes));
  w.endNode();

  cpus(w, c.mpidrs);
  w.beginNode('psci');
  w.propStrings('compatible', ['arm,psci-1.0', 'arm,psci-0.2']);
  w.propString('method', 'hvc');
  w.endNode();
  gic(w, c.gicVersion, vcpus);
  timer(w, c.gicVersion, vcpus);
  uart(w);
  pci(w);
  w.endNode();
  return w.finish({ bootCpuId: c.mpidrs[0]!, maxSize: LAYOUT.FDT_MAX_SIZE });
}
