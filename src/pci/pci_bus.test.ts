import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PciBus, PciBusError, configFunction } from './pci_bus.js';
import { PciConfigIo } from './config_io.js';
import { PciEcam, ECAM_BUS_SIZE } from './ecam.js';
import { PciConfigSpace } from './config_space.js';
import { PCI_REG } from './constants.js';
import { Bus } from '../bus/bus.js';

function busWithDevice() {
  const pci = new PciBus();
  const dev = new PciConfigSpace({ vendorId: 0x1af4, deviceId: 0x1041, classCode: 0x020000 });
  dev.addBar(0, { size: 0x1000, kind: 'mem32' });
  const slot = pci.add(configFunction(dev));
  return { pci, dev, slot };
}

test('host bridge at 00:00.0, devices fill free slots, empty slots read all ones', () => {
  const { pci, slot } = busWithDevice();
  assert.equal(slot, 1);
  assert.equal(pci.configRead(0, 0, 0, PCI_REG.VENDOR_ID, 4), 0x0008_1b36);
  assert.equal(pci.configRead(0, 0, 0, PCI_REG.REVISION, 4) >>> 8, 0x060000);
  assert.equal(pci.configRead(0, 1, 0, 0, 2), 0x1af4);
  assert.equal(pci.configRead(0, 2, 0, 0, 2), 0xffff);
  assert.equal(pci.configRead(0, 1, 1, 0, 4), 0xffffffff, 'only function 0 exists');
  assert.equal(pci.configRead(1, 1, 0, 0, 4), 0xffffffff, 'only bus 0 exists');
  assert.throws(() => pci.add(configFunction(new PciConfigSpace({ vendorId: 1, deviceId: 1, classCode: 0 })), 1), PciBusError);
  assert.throws(() => pci.add(configFunction(new PciConfigSpace({ vendorId: 1, deviceId: 1, classCode: 0 })), 32), PciBusError);
});

test('mechanism #1: address latch, data window bytes, enable bit', () => {
  const { pci, dev } = busWithDevice();
  const pio = new Bus('pio');
  pio.register(0xcf8, 8, new PciConfigIo(pci));
  const addr = (devn: number, reg: number) => (0x8000_0000 | (devn << 11) | reg) >>> 0;
  pio.write(0xcf8, 4, addr(1, 0));
  assert.equal(pio.read(0xcf8, 4), addr(1, 0));
  assert.equal(pio.read(0xcfc, 4), 0x1041_1af4);
  assert.equal(pio.read(0xcfe, 2), 0x1041);
  assert.equal(pio.read(0xcfd, 1), 0x1a);
  // BAR sizing through the ports.
  pio.write(0xcf8, 4, addr(1, PCI_REG.BAR0));
  pio.write(0xcfc, 4, 0xffffffff);
  assert.equal(pio.read(0xcfc, 4), 0xffff_f000);
  assert.equal(dev.read(PCI_REG.BAR0, 4), 0xffff_f000);
  // Register bits 1:0 of the address are ignored.
  pio.write(0xcf8, 4, addr(1, 2));
  assert.equal(pio.read(0xcf8, 4), addr(1, 0));
  // Enable bit clear: the window reads ones and drops writes.
  pio.write(0xcf8, 4, 1 << 11);
  assert.equal(pio.read(0xcfc, 4), 0xffffffff);
  // Byte writes to 0xCFB do not disturb the latch.
  pio.write(0xcf8, 4, addr(1, 0));
  pio.write(0xcfb, 1, 1);
  assert.equal(pio.read(0xcf8, 4), addr(1, 0));
});

test('ECAM window decodes bus/device/function/register', () => {
  const { pci, dev } = busWithDevice();
  const mmio = new Bus('mmio');
  const base = 0xb000_0000;
  mmio.register(base, PciEcam.windowSize(1), new PciEcam(pci));
  const off = (d: number, f: number, reg: number) => base + (d << 15) + (f << 12) + reg;
  assert.equal(mmio.read(off(1, 0, 0), 4), 0x1041_1af4);
  assert.equal(mmio.read(off(1, 1, 0), 4), 0xffffffff);
  mmio.write(off(1, 0, PCI_REG.INTERRUPT_LINE), 1, 9);
  assert.equal(dev.read(PCI_REG.INTERRUPT_LINE, 1), 9);
  assert.equal(mmio.read(off(1, 0, 0xffe), 4), 0xffffffff, 'straddles into the next function');
  assert.equal(ECAM_BUS_SIZE, 0x100000);
});
