import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../memory/guest_memory.js';
import { LAYOUT } from './layout.js';
import {
  buildMpTable,
  byteSum,
  MP,
  MP_BUS_ID,
  MP_ENTRY,
  MP_INT_TYPE,
  MP_IRQ_FLAGS,
  MpTableError,
  MPTABLE_MAX_SIZE,
  mpTableSize,
  pciIntxRoutes,
  writeMpTable,
  type PciIntxRoute,
} from './mptable.js';

interface Parsed {
  configAddr: number;
  configLength: number;
  lapic: number;
  entries: Array<{ type: number; bytes: Uint8Array }>;
}

const ascii = (b: Uint8Array): string => String.fromCharCode(...b);

/** Reads the table back the way Linux's mpparse does, checking checksums on the way. */
function parse(table: Uint8Array, base: number): Parsed {
  const dv = new DataView(table.buffer, table.byteOffset);
  assert.equal(ascii(table.subarray(0, 4)), '_MP_');
  assert.equal(table[8], 1, 'floating pointer length is one paragraph');
  assert.equal(table[9], 4, 'spec revision 1.4');
  assert.equal(byteSum(table.subarray(0, 16)), 0, 'floating pointer checksum');
  const configAddr = dv.getUint32(4, true);
  const at = configAddr - base;
  assert.equal(ascii(table.subarray(at, at + 4)), 'PCMP');
  const configLength = dv.getUint16(at + 4, true);
  assert.equal(at + configLength, table.length, 'base table length covers all entries');
  assert.equal(byteSum(table.subarray(at, at + configLength)), 0, 'configuration table checksum');
  assert.equal(table[at + 6], 4);
  assert.equal(ascii(table.subarray(at + 8, at + 16)), 'TSVMM   ');
  const count = dv.getUint16(at + 34, true);
  const entries: Parsed['entries'] = [];
  let p = at + MP.CONFIG_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const type = table[p]!;
    const len = type === MP_ENTRY.PROCESSOR ? 20 : 8;
    entries.push({ type, bytes: table.subarray(p, p + len) });
    p += len;
  }
  assert.equal(p, table.length, 'entry count matches the bytes');
  return { configAddr, configLength, lapic: dv.getUint32(at + 36, true), entries };
}

const ofType = (p: Parsed, type: number): Uint8Array[] => p.entries.filter((e) => e.type === type).map((e) => e.bytes);

test('one CPU, ISA IRQs 0-15, no PCI routes: signatures, checksums and entry counts', () => {
  const table = buildMpTable();
  const p = parse(table, LAYOUT.MPTABLE_START);
  assert.equal(p.configAddr, LAYOUT.MPTABLE_START + 16);
  assert.equal(p.lapic, LAYOUT.LAPIC_START);
  assert.equal(table.length, mpTableSize(1, 0));
  const cpus = ofType(p, MP_ENTRY.PROCESSOR);
  assert.equal(cpus.length, 1);
  assert.equal(cpus[0]![1], 0, 'APIC id 0');
  assert.equal(cpus[0]![3], 0x3, 'enabled boot processor');
  const buses = ofType(p, MP_ENTRY.BUS).map((b) => [b[1], ascii(b.subarray(2, 8))]);
  assert.deepEqual(buses, [
    [MP_BUS_ID.PCI, 'PCI   '],
    [MP_BUS_ID.ISA, 'ISA   '],
  ]);
  const ioapics = ofType(p, MP_ENTRY.IOAPIC);
  assert.equal(ioapics.length, 1);
  const ioapicId = ioapics[0]![1]!;
  assert.equal(ioapicId, 1, 'I/O APIC id follows the CPUs');
  assert.equal(ioapics[0]![3], 1, 'enabled');
  assert.equal(new DataView(ioapics[0]!.buffer, ioapics[0]!.byteOffset).getUint32(4, true), 0xfec00000);
  const ioints = ofType(p, MP_ENTRY.IOINT);
  assert.equal(ioints.length, 16);
  ioints.forEach((e, irq) => {
    assert.deepEqual([...e], [MP_ENTRY.IOINT, MP_INT_TYPE.INT, 0, 0, MP_BUS_ID.ISA, irq, ioapicId, irq]);
  });
  const lints = ofType(p, MP_ENTRY.LINTSRC);
  assert.deepEqual(
    lints.map((e) => [e[1], e[6], e[7]]),
    [
      [MP_INT_TYPE.EXTINT, 0, 0], // ExtINT -> BSP LINT0
      [MP_INT_TYPE.NMI, 0xff, 1], // NMI -> all CPUs LINT1
    ],
  );
});

test('PCI INTx routes become level-triggered, active-low entries on bus 0', () => {
  const routes = pciIntxRoutes([1, 2], [16, 17, 18, 19]);
  assert.deepEqual(
    routes.map((r) => [r.device, r.pin, r.ioapicPin]),
    [
      [1, 0, 17], [1, 1, 18], [1, 2, 19], [1, 3, 16],
      [2, 0, 18], [2, 1, 19], [2, 2, 16], [2, 3, 17],
    ],
  );
  const p = parse(buildMpTable({ pciRoutes: routes }), LAYOUT.MPTABLE_START);
  const pci = ofType(p, MP_ENTRY.IOINT).filter((e) => e[4] === MP_BUS_ID.PCI);
  assert.equal(pci.length, 8);
  const first = pci[0]!;
  assert.equal(first[2], MP_IRQ_FLAGS.PCI_LEVEL_LOW);
  assert.equal(first[5], (1 << 2) | 0, 'source irq = device << 2 | INTA');
  assert.equal(first[7], 17, 'destination pin');
  assert.equal(pci[7]![5], (2 << 2) | 3);
});

test('more CPUs get more processor entries and a later I/O APIC id', () => {
  const p = parse(buildMpTable({ cpus: 4 }), LAYOUT.MPTABLE_START);
  const cpus = ofType(p, MP_ENTRY.PROCESSOR);
  assert.deepEqual(cpus.map((c) => [c[1], c[3]]), [[0, 3], [1, 1], [2, 1], [3, 1]]);
  assert.equal(ofType(p, MP_ENTRY.IOAPIC)[0]![1], 4);
});

for (const n of [1, 2, 4, 32]) {
  test(`${n} CPU(s) with four PCI devices: checksums hold and every entry reads back`, () => {
    const routes = [1, 2, 3, 4].map((device) => ({ device, pin: 0, ioapicPin: 16 + (device % 8) }));
    const p = parse(buildMpTable({ cpus: n, pciRoutes: routes }), LAYOUT.MPTABLE_START);
    const cpus = ofType(p, MP_ENTRY.PROCESSOR);
    assert.deepEqual(
      cpus.map((c) => c[1]),
      Array.from({ length: n }, (_, i) => i),
      'APIC ids 0..n-1',
    );
    assert.deepEqual(
      cpus.map((c) => c[3]),
      Array.from({ length: n }, (_, i) => (i === 0 ? 3 : 1)),
      'all enabled, only the first is the boot processor',
    );
    assert.equal(ofType(p, MP_ENTRY.IOAPIC)[0]![1], n, 'the I/O APIC id follows the CPUs');
    assert.equal(ofType(p, MP_ENTRY.IOINT).length, 16 + routes.length);
    assert.equal(ofType(p, MP_ENTRY.LINTSRC).length, 2);
  });
}

test('is found where Linux scans: a 16-byte aligned "_MP_" in the EBDA', () => {
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(0x100000) }]);
  writeMpTable(mem, { pciRoutes: pciIntxRoutes([0], [20]) });
  let found = -1;
  for (let a = LAYOUT.EBDA_START; a < LAYOUT.LOW_RAM_END; a += 16) {
    if (ascii(mem.slice(a, 4)) === '_MP_' && byteSum(mem.slice(a, 16)) === 0) found = a;
  }
  assert.equal(found, LAYOUT.MPTABLE_START);
  const len = mpTableSize(1, 4);
  parse(mem.slice(LAYOUT.MPTABLE_START, len), LAYOUT.MPTABLE_START);
});

test('rejects invalid routes, CPU counts and tables too big for the EBDA', () => {
  const bad = (routes: PciIntxRoute[], re: RegExp): void => assert.throws(() => buildMpTable({ pciRoutes: routes }), (e: unknown) => e instanceof MpTableError && re.test(e.message));
  bad([{ device: 32, pin: 0, ioapicPin: 16 }], /device 32/);
  bad([{ device: 1, pin: 4, ioapicPin: 16 }], /pin 4/);
  bad([{ device: 1, pin: 0, ioapicPin: 24 }], /I\/O APIC pin 24/);
  bad([{ device: 1, pin: 0, ioapicPin: 16 }, { device: 1, pin: 0, ioapicPin: 17 }], /routed twice/);
  assert.throws(() => buildMpTable({ cpus: 0 }), MpTableError);
  assert.throws(() => buildMpTable({ cpus: 255 }), MpTableError);
  assert.throws(() => buildMpTable({ cpus: 48 }), /only 1024 fit in the EBDA/);
  assert.equal(MPTABLE_MAX_SIZE, 1024);
  assert.throws(() => buildMpTable({ base: 0x9fc08 }), /16-byte aligned/);
  assert.throws(() => pciIntxRoutes([1], []), MpTableError);
});
