// The in-kernel GIC (vGIC): KVM emulates the distributor and redistributors
// (or GICv2 CPU interface) and delivers interrupts to the vCPUs itself.
//
// Source: Documentation/virt/kvm/devices/arm-vgic-v3.rst and arm-vgic.rst.
// GICv3 is preferred; a host whose GIC cannot virtualise GICv3 (a GICv2 host,
// or GICv3 without the system register interface for guests) only registers
// the GICv2 device, so KVM_CREATE_DEVICE fails for v3 and we fall back.
// Order matters:
//   1. createVgic (before vCPUs): create the device, set the distributor (and
//      GICv2 CPU interface) address and the number of IRQs. The GIC version
//      is then known, so the device tree can be written.
//   2. initVgic (after every vCPU exists): the GICv3 redistributor region
//      (one frame pair per vCPU), then KVM_DEV_ARM_VGIC_CTRL_INIT. KVM refuses
//      new vCPUs after init, and irqfds before it (kvm_arch_intc_initialized).
import { KvmError } from '../../kvm/errors.js';
import { createDevice, setDeviceAttr, type AttrValue, type Ioctls } from '../../kvm/device.js';
import { KVM_ARM_IRQ, KVM_DEV_ARM_VGIC_CTRL_INIT, KVM_DEV_ARM_VGIC_GRP, KVM_DEV_TYPE, KVM_VGIC_ADDR_TYPE } from '../../kvm/generated/uapi_arm64.js';
import { IRQ, LAYOUT } from './layout.js';
import { hex } from '../../base/format.js';

export type GicVersion = 2 | 3;

export interface Vgic {
  readonly version: GicVersion;
  /** The device fd (KVM_CREATE_DEVICE). */
  readonly fd: number;
}

/** GICv2 can address at most 8 CPUs (GICD_ITARGETSR is a byte of CPU bits). */
export const GICV2_MAX_VCPUS = 8;


function set(io: Ioctls, gic: Vgic, what: string, group: number, attr: number, value: AttrValue): void {
  try {
    setDeviceAttr(io, gic.fd, group, attr, value);
  } catch (err) {
    throw new KvmError(`GICv${gic.version}: KVM_SET_DEVICE_ATTR for ${what} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Creates the vGIC, GICv3 if KVM offers it, else GICv2; sets what may be set before the vCPUs exist. */
export function createVgic(io: Ioctls, vmFd: number): Vgic {
  let gic: Vgic;
  try {
    gic = { version: 3, fd: createDevice(io, vmFd, KVM_DEV_TYPE.ARM_VGIC_V3) };
  } catch (v3err) {
    try {
      gic = { version: 2, fd: createDevice(io, vmFd, KVM_DEV_TYPE.ARM_VGIC_V2) };
    } catch (v2err) {
      throw new KvmError(
        `KVM cannot create an in-kernel GIC: GICv3 failed (${(v3err as Error).message}), GICv2 failed (${(v2err as Error).message})`,
        { cause: v2err },
      );
    }
  }
  const { ADDR, NR_IRQS } = KVM_DEV_ARM_VGIC_GRP;
  if (gic.version === 3) {
    set(io, gic, `the distributor address ${hex(LAYOUT.GIC_DIST_START)}`, ADDR, KVM_VGIC_ADDR_TYPE.V3_DIST, { u64: LAYOUT.GIC_DIST_START });
  } else {
    set(io, gic, `the distributor address ${hex(LAYOUT.GIC_DIST_START)}`, ADDR, KVM_VGIC_ADDR_TYPE.V2_DIST, { u64: LAYOUT.GIC_DIST_START });
    set(io, gic, `the CPU interface address ${hex(LAYOUT.GIC_CPU_START)}`, ADDR, KVM_VGIC_ADDR_TYPE.V2_CPU, { u64: LAYOUT.GIC_CPU_START });
  }
  set(io, gic, `${IRQ.NR_IRQS} interrupt lines`, NR_IRQS, 0, { u32: IRQ.NR_IRQS });
  return gic;
}

/** Most vCPUs the GIC version and the layout allow. */
export function maxVcpus(version: GicVersion): number {
  return version === 2 ? GICV2_MAX_VCPUS : LAYOUT.MAX_VCPUS;
}

/** Finishes the vGIC once all `vcpus` vCPUs exist: redistributors (GICv3), then CTRL_INIT. */
export function initVgic(io: Ioctls, gic: Vgic, vcpus: number): void {
  if (vcpus < 1 || vcpus > maxVcpus(gic.version)) throw new KvmError(`GICv${gic.version} here supports 1-${maxVcpus(gic.version)} vCPUs, not ${vcpus}`);
  if (gic.version === 3) {
    set(io, gic, `the redistributor address ${hex(LAYOUT.GIC_REDIST_START)}`, KVM_DEV_ARM_VGIC_GRP.ADDR, KVM_VGIC_ADDR_TYPE.V3_REDIST, { u64: LAYOUT.GIC_REDIST_START });
  }
  set(io, gic, 'KVM_DEV_ARM_VGIC_CTRL_INIT', KVM_DEV_ARM_VGIC_GRP.CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, undefined);
}

/**
 * KVM_IRQ_LINE's irq field for SPI `spi` on arm64 (api.rst, KVM_IRQ_LINE):
 * type SPI in bits 24-27 and the GIC INTID (SPI + 32) in bits 0-15. Unlike a
 * GSI, this bypasses the irqchip routing table.
 */
export function spiIrqLine(spi: number): number {
  const intid = IRQ.SPI_BASE + spi;
  if (!Number.isInteger(spi) || spi < 0 || intid >= IRQ.NR_IRQS) throw new RangeError(`SPI ${spi} is outside the vGIC's ${IRQ.NR_IRQS - IRQ.SPI_BASE} SPIs`);
  return ((KVM_ARM_IRQ.TYPE_SPI << KVM_ARM_IRQ.TYPE_SHIFT) | intid) >>> 0;
}
