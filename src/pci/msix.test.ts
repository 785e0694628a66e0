import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PciConfigSpace } from './config_space.js';
import { Msix, MSIX, MsixError, type MsixRoute } from './msix.js';
import { PCI_CAP_ID, PCI_REG } from './constants.js';

function setup(vectors = 3) {
  const config = new PciConfigSpace({ vendorId: 1, deviceId: 2, classCode: 0 });
  const msix = new Msix(vectors, { tableBar: 0, tableOffset: 0x4000, pbaBar: 0, pbaOffset: 0x6000 });
  const cap = msix.attach(config);
  const changes: Array<[number, MsixRoute]> = [];
  const delivered: number[] = [];
  msix.onChange = (v, r) => changes.push([v, r]);
  msix.onDeliver = (v) => delivered.push(v);
  return { config, msix, cap, changes, delivered };
}

const enable = (config: PciConfigSpace, cap: number, bits: number) => config.write(cap + 2, 2, bits);

test('the capability advertises table size, BIR and offsets', () => {
  const { config, cap } = setup(3);
  assert.equal(config.read(PCI_REG.CAPABILITIES, 1), cap);
  assert.equal(config.read(cap, 1), PCI_CAP_ID.MSIX);
  assert.equal(config.read(cap + 2, 2), 2, 'table size is N-1');
  assert.equal(config.read(cap + 4, 4), 0x4000);
  assert.equal(config.read(cap + 8, 4), 0x6000);
  config.write(cap + 2, 2, 0x07ff);
  assert.equal(config.read(cap + 2, 2), 2, 'table size is read-only');
});

test('vectors start masked; enable + unmask produces a route', () => {
  const { config, msix, cap, changes } = setup();
  msix.writeTable(16 + MSIX.ENTRY_ADDR_LO, 4, 0xfee0_0000);
  msix.writeTable(16 + MSIX.ENTRY_ADDR_HI, 4, 0);
  msix.writeTable(16 + MSIX.ENTRY_DATA, 4, 0x4031);
  assert.equal(msix.readTable(16 + MSIX.ENTRY_DATA, 4), 0x4031);
  assert.equal(msix.readTable(16 + MSIX.ENTRY_CONTROL, 4), 1);
  assert.equal(msix.isMasked(1), true);
  enable(config, cap, MSIX.CONTROL_ENABLE);
  assert.equal(msix.enabled, true);
  assert.equal(msix.isMasked(1), true, 'vector mask still set');
  changes.length = 0;
  msix.writeTable(16 + MSIX.ENTRY_CONTROL, 4, 0);
  assert.deepEqual(changes, [[1, { address: 0xfee0_0000, data: 0x4031, masked: false }]]);
});

test('function mask masks every vector; pending bits latch and release on unmask', () => {
  const { config, msix, cap, delivered } = setup();
  enable(config, cap, MSIX.CONTROL_ENABLE);
  for (let v = 0; v < 3; v++) msix.writeTable(v * 16 + MSIX.ENTRY_CONTROL, 4, 0);
  assert.equal(msix.signal(2), true);
  enable(config, cap, MSIX.CONTROL_ENABLE | MSIX.CONTROL_FUNCTION_MASK);
  assert.equal(msix.functionMasked, true);
  assert.equal(msix.signal(2), false);
  assert.equal(msix.isPending(2), true);
  assert.equal(msix.readPba(0, 4), 0b100);
  msix.writePba(0, 4, 0);
  assert.equal(msix.readPba(0, 4), 0b100, 'the PBA is read-only');
  enable(config, cap, MSIX.CONTROL_ENABLE);
  assert.deepEqual(delivered, [2]);
  assert.equal(msix.readPba(0, 4), 0);
});

test('per-vector mask latches pending and unmask delivers it', () => {
  const { config, msix, cap, delivered } = setup();
  enable(config, cap, MSIX.CONTROL_ENABLE);
  assert.equal(msix.signal(0), false);
  assert.equal(msix.signal(7), false, 'no such vector');
  msix.writeTable(MSIX.ENTRY_CONTROL, 4, 0xffff_fffe);
  assert.equal(msix.readTable(MSIX.ENTRY_CONTROL, 4), 0, 'reserved control bits read as zero');
  assert.deepEqual(delivered, [0]);
});

test('odd table accesses are bounded and sub-dword writes merge', () => {
  const { msix } = setup(1);
  msix.writeTable(8, 4, 0x11223344);
  msix.writeTable(9, 1, 0xaa);
  assert.equal(msix.readTable(8, 4), 0x1122aa44);
  assert.equal(msix.readTable(10, 2), 0x1122);
  assert.equal(msix.readTable(16, 4), 0, 'past the table');
  msix.writeTable(16, 4, 1);
  msix.writeTable(6, 4, 1);
  assert.equal(msix.readTable(4, 4), 0, 'a write straddling dwords is dropped');
  assert.throws(() => new Msix(0, { tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 8 }), MsixError);
});

test('reset masks everything and disables', () => {
  const { config, msix, cap } = setup();
  enable(config, cap, MSIX.CONTROL_ENABLE);
  msix.writeTable(MSIX.ENTRY_CONTROL, 4, 0);
  msix.reset();
  assert.equal(msix.enabled, false);
  assert.equal(msix.readTable(MSIX.ENTRY_CONTROL, 4), 1);
  assert.equal(config.read(cap + 2, 2), 2);
});
