// PCI configuration mechanism #1 (PCI 3.0 3.2.2.3.2): a 32-bit address
// register at 0xCF8 and a data window at 0xCFC..0xCFF, as one 8-port
// BusDevice registered at 0xCF8. x86_64 only; runs on the vCPU thread.
//
// Address register: bit 31 enable, 23:16 bus, 15:11 device, 10:8 function,
// 7:2 register (dword). The data window's byte offset adds to the register,
// so `inb 0xCFE` reads byte 2 of the selected dword.
import type { BusDevice } from '../bus/bus.js';
import { PCI_CONFIG_IO } from './constants.js';
import type { PciBus } from './pci_bus.js';

const DATA_OFFSET = PCI_CONFIG_IO.DATA_PORT - PCI_CONFIG_IO.ADDRESS_PORT;

export class PciConfigIo implements BusDevice {
  private address = 0;

  constructor(private readonly bus: PciBus) {}

  read(offset: number, size: number): number {
    if (offset < DATA_OFFSET) {
      // Only whole-dword accesses reach the address register; byte accesses
      // to 0xCF8..0xCFB belong to other legacy uses and read as ones.
      return offset === 0 && size === 4 ? this.address : size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    }
    const a = this.address;
    if ((a & PCI_CONFIG_IO.ENABLE) === 0) return size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    return this.bus.configRead((a >>> 16) & 0xff, (a >>> 11) & 0x1f, (a >>> 8) & 0x7, (a & 0xfc) + offset - DATA_OFFSET, size);
  }

  write(offset: number, size: number, value: number): void {
    if (offset < DATA_OFFSET) {
      // Reserved bits 30:24 and 1:0 read back as zero.
      if (offset === 0 && size === 4) this.address = (value & 0x80ff_fffc) >>> 0;
      return;
    }
    const a = this.address;
    if ((a & PCI_CONFIG_IO.ENABLE) === 0) return;
    this.bus.configWrite((a >>> 16) & 0xff, (a >>> 11) & 0x1f, (a >>> 8) & 0x7, (a & 0xfc) + offset - DATA_OFFSET, size, value);
  }
}
