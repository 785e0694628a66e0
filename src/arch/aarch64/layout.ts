// The aarch64 guest-physical memory map and interrupt numbers.
//
// Every address the arm64 machine uses is named here once; the device tree
// (machine_fdt.ts) describes exactly these. Devices sit below 2 GiB and RAM
// starts at 2 GiB, as on Firecracker and QEMU's virt board, so a 32-bit PCI
// window fits below RAM:
//
//   0x0000_0000 - 0x07ff_ffff   nothing (a stray NULL access faults in the guest)
//   0x0800_0000   GIC distributor          64 KiB (GICv2 decodes the first 4 KiB)
//   0x0801_0000   GICv2 CPU interface       8 KiB (GICv2 only; 64 KiB aligned for 64K-page hosts)
//   0x0810_0000   GICv3 redistributors    128 KiB per vCPU, room for 64 vCPUs (to 0x0890_0000)
//   0x0900_0000   8250 UART (console)       4 KiB page, 8 byte registers
//   0x1000_0000   PCI ECAM, bus 0           1 MiB
//   0x4000_0000 - 0x7fff_ffff   PCI 32-bit memory window (BARs)
//   0x8000_0000 - ...           RAM (kernel at its start, DTB and initrd near its top)
//
// Sources: Documentation/arch/arm64/booting.rst (2 MiB kernel alignment, DTB
// size and alignment), Documentation/virt/kvm/devices/arm-vgic{,-v3}.rst
// (region sizes and alignment), the PCI Firmware Spec 3.2 / PCIe 7.2.2 (ECAM).
import { KVM_VGIC_SIZE } from '../../kvm/generated/uapi_arm64.js';
import { ECAM_BUS_SIZE } from '../../pci/ecam.js';
import { TsvmmError } from '../../base/errors.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export const LAYOUT = {
  /** vGIC distributor (KVM_VGIC_V3_DIST_SIZE; GICv2 uses KVM_VGIC_V2_DIST_SIZE of it). */
  GIC_DIST_START: 0x0800_0000,
  GIC_DIST_SIZE: KVM_VGIC_SIZE.V3_DIST,
  /** GICv2 CPU interface (KVM_VGIC_V2_CPU_SIZE). */
  GIC_CPU_START: 0x0801_0000,
  GIC_CPU_SIZE: KVM_VGIC_SIZE.V2_CPU,
  /** GICv3 redistributor region: one 128 KiB frame pair per vCPU, contiguous. */
  GIC_REDIST_START: 0x0810_0000,
  /** Most vCPUs the redistributor region leaves room for. */
  MAX_VCPUS: 64,
  /** The console UART: a 16550A model on MMIO, one byte per register (reg-shift 0). */
  UART_START: 0x0900_0000,
  UART_SIZE: 0x1000,
  /** PCI configuration space (ECAM) for bus 0 only. */
  PCI_ECAM_START: 0x1000_0000,
  PCI_ECAM_SIZE: ECAM_BUS_SIZE,
  /** 32-bit non-prefetchable PCI memory window; the device tree's `ranges`. */
  PCI_MMIO32_START: 0x4000_0000,
  PCI_MMIO32_END: 0x8000_0000,
  /** Start of RAM: 1 GiB aligned, so the initrd's 32 GiB window (booting.rst) starts here too. */
  RAM_START: 0x8000_0000,
  /** RAM must end below the default 40-bit IPA space (KVM_CREATE_VM type 0: 1 TiB). */
  IPA_LIMIT: 2 ** 40,
  /** booting.rst: the DTB is 8-byte aligned and at most 2 MiB; it gets a 2 MiB block of its own. */
  FDT_MAX_SIZE: 2 * MiB,
  /** booting.rst: the initrd lies within a 1 GiB aligned window of at most 32 GiB that also covers the kernel. */
  INITRD_WINDOW: 32 * GiB,
  /** Alignment for the initrd: the largest arm64 page size, so any guest maps it with whole pages. */
  INITRD_ALIGN: 64 * KiB,
} as const;

/** Size of the GICv3 redistributor region for `vcpus` vCPUs. */
export function redistSize(vcpus: number): number {
  return vcpus * KVM_VGIC_SIZE.V3_REDIST;
}

/**
 * Interrupt numbers. GIC INTIDs 0-15 are SGIs, 16-31 PPIs, 32+ SPIs; the
 * device tree and KVM's irqchip routing both count SPIs from 0 (INTID - 32).
 */
export const IRQ = {
  /** INTIDs below this are private to a CPU (VGIC_NR_PRIVATE_IRQS). */
  SPI_BASE: 32,
  /** GIC interrupt lines KVM models (KVM_DEV_ARM_VGIC_GRP_NR_IRQS: a multiple of 32, private ones included). */
  NR_IRQS: 128,
  /** The console UART's SPI; also its GSI (KVM's default routing maps GSI n to SPI n). */
  UART_SPI: 1,
  /** PCI INTA# of slot n raises SPI PCI_INTX_SPI_BASE + n: one line per slot, never shared. */
  PCI_INTX_SPI_BASE: 32,
  PCI_SLOTS: 32,
  /** Architected timer PPIs (INTID - 16), as the arm,armv8-timer binding lists them. */
  TIMER_SECURE_PPI: 13,
  TIMER_NONSECURE_PPI: 14,
  TIMER_VIRTUAL_PPI: 11,
  TIMER_HYP_PPI: 10,
} as const;

/** Number of SPIs the vGIC provides. */
export const NR_SPIS = IRQ.NR_IRQS - IRQ.SPI_BASE;

/** The SPI (and GSI) behind PCI slot `slot`'s INTA#. */
export function pciIntxSpi(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= IRQ.PCI_SLOTS) throw new RangeError(`PCI slot ${slot} is not 0-31`);
  return IRQ.PCI_INTX_SPI_BASE + slot;
}

export class MemoryLayoutError extends TsvmmError {}

/** Guest RAM: one region from RAM_START. */
export function ramRegions(memoryBytes: number): Array<{ gpa: number; size: number }> {
  if (!Number.isSafeInteger(memoryBytes) || memoryBytes <= 0 || memoryBytes % (64 * KiB) !== 0) {
    throw new MemoryLayoutError(`guest RAM size ${memoryBytes} is invalid: it must be a positive multiple of 64 KiB`);
  }
  if (LAYOUT.RAM_START + memoryBytes > LAYOUT.IPA_LIMIT) {
    throw new MemoryLayoutError(`guest RAM of ${memoryBytes / GiB} GiB does not fit below the 40-bit guest physical address limit (at most ${(LAYOUT.IPA_LIMIT - LAYOUT.RAM_START) / GiB} GiB)`);
  }
  return [{ gpa: LAYOUT.RAM_START, size: memoryBytes }];
}
