// PCI Express enhanced configuration access (ECAM, PCIe base spec 7.2.2): a
// memory window where config register `reg` of (bus, dev, fn) sits at
// bus << 20 | dev << 15 | fn << 12 | reg. One BusDevice over the window; the
// aarch64 layout places it and describes it in the device tree. Runs on the
// vCPU thread. Accesses that straddle a 4 KiB function boundary are dropped.
import type { BusDevice } from '../bus/bus.js';
import type { PciBus } from './pci_bus.js';

/** Bytes of ECAM space per bus (32 devices x 8 functions x 4 KiB). */
export const ECAM_BUS_SIZE = 1 << 20;

export class PciEcam implements BusDevice {
  /** Size of the window for `busCount` buses. */
  static windowSize(busCount: number): number {
    return busCount * ECAM_BUS_SIZE;
  }

  constructor(private readonly bus: PciBus) {}

  read(offset: number, size: number): number {
    const reg = offset & 0xfff;
    if (reg + size > 0x1000) return size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    return this.bus.configRead(offset >>> 20, (offset >>> 15) & 0x1f, (offset >>> 12) & 0x7, reg, size);
  }

  write(offset: number, size: number, value: number): void {
    const reg = offset & 0xfff;
    if (reg + size > 0x1000) return;
    this.bus.configWrite(offset >>> 20, (offset >>> 15) & 0x1f, (offset >>> 12) & 0x7, reg, size, value);
  }
}
