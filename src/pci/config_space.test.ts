import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PciConfigSpace, PciConfigError } from './config_space.js';
import { PCI_CAP_ID, PCI_COMMAND, PCI_REG, PCI_STATUS } from './constants.js';

function device(): PciConfigSpace {
  return new PciConfigSpace({ vendorId: 0x1af4, deviceId: 0x1042, classCode: 0x010000, revision: 1, subsystemVendorId: 0x1af4, subsystemId: 0x40, interruptPin: 1 });
}

test('header holds ids, class and header type, and they are read-only', () => {
  const c = device();
  assert.equal(c.read(0, 4), 0x1042_1af4);
  assert.equal(c.read(PCI_REG.REVISION, 4), 0x0100_0001);
  assert.equal(c.read(PCI_REG.HEADER_TYPE, 1), 0);
  assert.equal(c.read(PCI_REG.SUBSYSTEM_VENDOR_ID, 4), 0x0040_1af4);
  assert.equal(c.read(PCI_REG.INTERRUPT_PIN, 1), 1);
  c.write(0, 4, 0xdeadbeef);
  c.write(PCI_REG.REVISION, 4, 0xffffffff);
  c.write(PCI_REG.INTERRUPT_PIN, 1, 3);
  assert.equal(c.read(0, 4), 0x1042_1af4);
  assert.equal(c.read(PCI_REG.REVISION, 4), 0x0100_0001);
  assert.equal(c.read(PCI_REG.INTERRUPT_PIN, 1), 1);
  c.write(PCI_REG.INTERRUPT_LINE, 1, 11);
  assert.equal(c.read(PCI_REG.INTERRUPT_LINE, 1), 11);
});

test('32-bit memory BAR: sizing returns the mask, restore brings the address back', () => {
  const c = device();
  c.addBar(0, { size: 0x4000, kind: 'mem32' });
  c.write(PCI_REG.BAR0, 4, 0xfebf_0000);
  assert.equal(c.read(PCI_REG.BAR0, 4), 0xfebf_0000);
  c.write(PCI_REG.BAR0, 4, 0xffffffff);
  assert.equal(c.read(PCI_REG.BAR0, 4), 0xffff_c000);
  c.write(PCI_REG.BAR0, 4, 0xfebf_0000);
  assert.equal(c.read(PCI_REG.BAR0, 4), 0xfebf_0000);
  // Unaligned low bits are dropped: the BAR is naturally aligned.
  c.write(PCI_REG.BAR0, 4, 0xfebf_1234);
  assert.equal(c.read(PCI_REG.BAR0, 4), 0xfebf_0000);
});

test('64-bit prefetchable BAR keeps its type bits through sizing and pairs with the next BAR', () => {
  const c = device();
  c.addBar(2, { size: 0x10_0000, kind: 'mem64', prefetchable: true });
  const lo = PCI_REG.BAR0 + 8;
  assert.equal(c.read(lo, 4), 0xc);
  c.write(lo, 4, 0xffffffff);
  c.write(lo + 4, 4, 0xffffffff);
  assert.equal(c.read(lo, 4), 0xfff0_000c);
  assert.equal(c.read(lo + 4, 4), 0xffffffff);
  c.write(lo, 4, 0x0);
  c.write(lo + 4, 4, 0x1);
  c.write(PCI_REG.COMMAND, 2, PCI_COMMAND.MEMORY);
  assert.equal(c.barAddress(2), 0x1_0000_0000);
  assert.throws(() => c.addBar(3, { size: 16, kind: 'mem32' }), PciConfigError);
});

test('a BAR larger than 4 GiB masks address bits in the high dword', () => {
  const c = device();
  c.addBar(0, { size: 2 ** 34, kind: 'mem64' });
  c.write(PCI_REG.BAR0, 4, 0xffffffff);
  c.write(PCI_REG.BAR0 + 4, 4, 0xffffffff);
  assert.equal(c.read(PCI_REG.BAR0, 4), 0x4);
  assert.equal(c.read(PCI_REG.BAR0 + 4, 4), 0xffff_fffc);
});

test('I/O BAR and unimplemented BARs', () => {
  const c = device();
  c.addBar(1, { size: 0x20, kind: 'io' });
  c.write(PCI_REG.BAR0 + 4, 4, 0xffffffff);
  assert.equal(c.read(PCI_REG.BAR0 + 4, 4), 0xffff_ffe1);
  c.write(PCI_REG.BAR0 + 16, 4, 0xffffffff);
  assert.equal(c.read(PCI_REG.BAR0 + 16, 4), 0, 'an unimplemented BAR sizes as zero');
  c.write(PCI_REG.ROM_ADDRESS, 4, 0xffffffff);
  assert.equal(c.read(PCI_REG.ROM_ADDRESS, 4), 0);
});

test('bad BAR declarations are rejected', () => {
  const c = device();
  assert.throws(() => c.addBar(0, { size: 0x3000, kind: 'mem32' }), PciConfigError);
  assert.throws(() => c.addBar(5, { size: 0x1000, kind: 'mem64' }), PciConfigError);
  assert.throws(() => c.addBar(0, { size: 8, kind: 'mem32' }), PciConfigError);
  c.addBar(0, { size: 0x1000, kind: 'mem32' });
  assert.throws(() => c.addBar(0, { size: 0x1000, kind: 'mem32' }), PciConfigError);
});

test('a BAR decodes only while memory space is enabled, and moves are reported', () => {
  const c = device();
  c.addBar(0, { size: 0x1000, kind: 'mem64' });
  const events: Array<[number, number | null]> = [];
  c.onBarChange = (i, a) => events.push([i, a]);
  c.setBarAddress(0, 0xe000_0000);
  assert.equal(c.barAddress(0), null, 'memory space still disabled');
  assert.deepEqual(events, []);
  c.write(PCI_REG.COMMAND, 2, PCI_COMMAND.MEMORY | PCI_COMMAND.BUS_MASTER);
  assert.deepEqual(events, [[0, 0xe000_0000]]);
  // Linux sizes with decode off; turning decode off unmaps the BAR.
  c.write(PCI_REG.COMMAND, 2, PCI_COMMAND.BUS_MASTER);
  c.write(PCI_REG.BAR0, 4, 0xffffffff);
  c.write(PCI_REG.BAR0, 4, 0xe000_0000);
  c.write(PCI_REG.COMMAND, 2, PCI_COMMAND.MEMORY);
  c.write(PCI_REG.BAR0, 4, 0xe010_0000);
  assert.deepEqual(events, [[0, 0xe000_0000], [0, null], [0, 0xe000_0000], [0, 0xe010_0000]]);
  assert.equal(c.read(PCI_REG.COMMAND, 2), PCI_COMMAND.MEMORY);
});

test('command keeps only defined bits; status error bits are write-one-to-clear', () => {
  const c = device();
  c.write(PCI_REG.COMMAND, 2, 0xffff);
  assert.equal(c.read(PCI_REG.COMMAND, 2), 0x0547);
  c.set16(PCI_REG.STATUS, 0x8000 | PCI_STATUS.CAP_LIST);
  c.write(PCI_REG.STATUS, 2, PCI_STATUS.CAP_LIST);
  assert.equal(c.read(PCI_REG.STATUS, 2), 0x8000 | PCI_STATUS.CAP_LIST, 'writing 1 to a read-only bit changes nothing');
  c.write(PCI_REG.STATUS, 2, 0x8000);
  assert.equal(c.read(PCI_REG.STATUS, 2), PCI_STATUS.CAP_LIST);
  c.setInterruptStatus(true);
  assert.equal(c.read(PCI_REG.STATUS, 2) & PCI_STATUS.INTERRUPT, PCI_STATUS.INTERRUPT);
});

test('capability list: the guest can walk it from 0x34 to the end', () => {
  const c = device();
  assert.equal(c.read(PCI_REG.STATUS, 2) & PCI_STATUS.CAP_LIST, 0);
  const a = c.addCapability(PCI_CAP_ID.VENDOR, new Uint8Array([14, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).subarray(0, 14));
  const b = c.addCapability(PCI_CAP_ID.MSIX, new Uint8Array(10));
  const d = c.addCapability(PCI_CAP_ID.VENDOR, new Uint8Array([5, 9, 9]));
  assert.equal(c.read(PCI_REG.STATUS, 2) & PCI_STATUS.CAP_LIST, PCI_STATUS.CAP_LIST);
  const walk: Array<[number, number]> = [];
  for (let p = c.read(PCI_REG.CAPABILITIES, 1); p !== 0; p = c.read(p + 1, 1)) {
    assert.equal(p % 4, 0, 'capabilities are dword aligned');
    walk.push([p, c.read(p, 1)]);
  }
  assert.deepEqual(walk, [[a, 9], [b, 0x11], [d, 9]]);
  assert.equal(c.read(d + 2, 1), 5);
  c.write(d + 2, 1, 0x77);
  assert.equal(c.read(d + 2, 1), 5, 'capability bytes are read-only by default');
});

test('capability write masks and hooks', () => {
  const c = device();
  const seen: string[] = [];
  let refreshed = 0;
  const off = c.addCapability(PCI_CAP_ID.VENDOR, new Uint8Array(6), {
    writeMask: new Uint8Array([0xff, 0xff, 0, 0x0f]),
    afterWrite: (o, s) => seen.push(`${o}/${s}`),
    beforeRead: () => {
      refreshed++;
    },
  });
  c.write(off, 4, 0xffffffff);
  assert.equal(c.read(off, 4) >>> 16, 0x0f00, 'only masked bits changed; header untouched');
  assert.equal(c.read(off, 1), PCI_CAP_ID.VENDOR);
  assert.deepEqual(seen, ['0/4']);
  assert.ok(refreshed >= 2);
});

test('out-of-range and odd-sized accesses are harmless', () => {
  const c = device();
  assert.equal(c.read(4095, 2), 0xffff);
  assert.equal(c.read(0x100, 4), 0, 'extended space is empty');
  c.write(4094, 4, 1);
  assert.equal(c.read(0, 3), 0xffffff);
});
