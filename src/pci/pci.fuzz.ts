// Fuzz target for PCI configuration space, MSI-X table and PBA, reached as a
// guest reaches them: through mechanism #1 (CF8/CFC, config_io.ts) on one
// bus and through ECAM (ecam.ts) on an identical second bus, fed the same
// operations.
//
// Invariants:
// - no access throws; a read of n bytes is an integer below 2^(8n);
// - CF8/CFC and ECAM reach the same registers: the same reads return the
//   same values and both buses end in the same state; a CF8 address without
//   the enable bit reads all ones, and reads back with its reserved bits 0;
// - absent functions (empty slot, function != 0, bus != 0) read all ones;
// - read-only fields survive any write: ids, class, header type, subsystem,
//   interrupt pin, the capability list (ids and next pointers), BAR flags;
// - BAR decode events: each BAR's last reported address is barAddress(i),
//   aligned to the BAR's size and below 2^52; a change is reported once;
// - MSI-X: vector-control bits 31:1 read 0; a vector is pending only while
//   masked; the PBA ignores writes; routes only for existing vectors, and
//   route(v).masked is isMasked(v); reset() returns table, PBA and control
//   to what a freshly built MSI-X capability reads.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sizedValue, u32 } from '../fuzz/arbitraries.js';
import { fuzzTarget, type FuzzTarget } from '../fuzz/target.js';
import { PciConfigIo } from './config_io.js';
import { PciConfigSpace } from './config_space.js';
import { PCI_BAR, PCI_CAP_ID, PCI_CONFIG_IO, PCI_REG } from './constants.js';
import { PciEcam } from './ecam.js';
import { Msix, MSIX } from './msix.js';
import { PciBus, configFunction } from './pci_bus.js';

const SLOT = 3;
const DATA = PCI_CONFIG_IO.DATA_PORT - PCI_CONFIG_IO.ADDRESS_PORT;
const BARS = [
  { index: 0, size: 0x20, kind: 'io' as const },
  { index: 1, size: 0x1000, kind: 'mem32' as const },
  { index: 2, size: 0x1_0000, kind: 'mem64' as const },
];

interface Machine {
  readonly bus: PciBus;
  readonly config: PciConfigSpace;
  readonly msix: Msix;
  /** Last address reported per BAR index. */
  readonly reported: Map<number, number | null>;
}

function machine(vectors: number): Machine {
  const bus = new PciBus();
  const config = new PciConfigSpace({ vendorId: 0x1af4, deviceId: 0x1042, classCode: 0x010000, revision: 1, subsystemVendorId: 0x1af4, subsystemId: 0x40, interruptPin: 1 });
  for (const b of BARS) config.addBar(b.index, { size: b.size, kind: b.kind });
  const msix = new Msix(vectors, { tableBar: 1, tableOffset: 0, pbaBar: 1, pbaOffset: 0x800 });
  msix.attach(config);
  const reported = new Map<number, number | null>();
  config.onBarChange = (i, address) => {
    assert.notEqual(reported.get(i) ?? null, address, `BAR ${i} change to ${address} reported twice`);
    reported.set(i, address);
  };
  msix.onChange = (v, route) => {
    assert.ok(Number.isInteger(v) && v >= 0 && v < vectors, `MSI-X change for vector ${v} of ${vectors}`);
    assert.equal(route.masked, msix.isMasked(v));
  };
  msix.onDeliver = (v) => assert.ok(v >= 0 && v < vectors && !msix.isMasked(v), `delivery of vector ${v} while masked`);
  bus.add(configFunction(config), SLOT);
  return { bus, config, msix, reported };
}

type Size = 1 | 2 | 4;
type Op =
  | { readonly kind: 'cfgRead'; readonly bus: number; readonly dev: number; readonly fn: number; readonly reg: number; readonly size: Size }
  | { readonly kind: 'cfgWrite'; readonly bus: number; readonly dev: number; readonly fn: number; readonly reg: number; readonly size: Size; readonly value: number }
  | { readonly kind: 'cf8Raw'; readonly address: number; readonly port: number; readonly size: Size }
  | { readonly kind: 'tableRead' | 'pbaRead'; readonly offset: number; readonly size: Size }
  | { readonly kind: 'tableWrite' | 'pbaWrite'; readonly offset: number; readonly size: Size; readonly value: number }
  | { readonly kind: 'signal'; readonly vector: number }
  | { readonly kind: 'msixReset' };

const size = fc.constantFrom(1 as const, 2 as const, 4 as const);
// Mostly our device at slot SLOT and the host bridge; sometimes anything.
const target = fc.record({
  bus: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 0xff }) }),
  dev: fc.oneof({ weight: 6, arbitrary: fc.constant(SLOT) }, { weight: 1, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 31 }) }),
  fn: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 7 }) }),
  // The header and the capabilities (from 0x40: MSI-X first, its control word at 0x42) mostly.
  reg: fc.oneof({ weight: 6, arbitrary: fc.nat({ max: 0x7f }) }, { weight: 2, arbitrary: fc.constant(0x42) }, { weight: 1, arbitrary: fc.nat({ max: 0xff }) }),
});
// Table entries, their vector-control words (masking) mostly, the PBA, anything.
const msixOffset = fc.oneof(fc.nat({ max: 0x9f }), fc.nat({ max: 9 }).map((v) => v * MSIX.ENTRY_SIZE + MSIX.ENTRY_CONTROL), fc.nat({ max: 0x1000 }));

/** MSI-X control (enable, function mask) as a driver writes it: a 16-bit config write at the capability's control word. */
const msixControl = fc.tuple(fc.boolean(), fc.boolean()).map(([enable, fmask]) => ({
  kind: 'cfgWrite' as const,
  bus: 0,
  dev: SLOT,
  fn: 0,
  reg: 0x42,
  size: 2 as const,
  value: (enable ? MSIX.CONTROL_ENABLE : 0) | (fmask ? MSIX.CONTROL_FUNCTION_MASK : 0),
}));
/** Masking or unmasking one vector (bit 0 of its vector control). */
const vectorMask = fc.tuple(fc.nat({ max: 9 }), fc.boolean()).map(([v, masked]) => ({ kind: 'tableWrite' as const, offset: v * MSIX.ENTRY_SIZE + MSIX.ENTRY_CONTROL, size: 4 as const, value: masked ? 1 : 0 }));

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: msixControl },
  { weight: 1, arbitrary: vectorMask },
  { weight: 3, arbitrary: fc.tuple(target, size).map(([t, s]) => ({ kind: 'cfgRead' as const, ...t, size: s })) },
  { weight: 5, arbitrary: fc.tuple(target, sizedValue()).map(([t, v]) => ({ kind: 'cfgWrite' as const, ...t, ...v })) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cf8Raw' as const), address: u32(), port: fc.nat({ max: 7 }), size }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('tableRead' as const, 'pbaRead' as const), offset: msixOffset, size }) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('tableWrite' as const, 'pbaWrite' as const), msixOffset, sizedValue()).map(([kind, offset, v]) => ({ kind, offset, ...v })) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('signal' as const), vector: fc.integer({ min: -1, max: 10 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'msixReset' as const }) },
);

const ones = (s: number): number => 2 ** (8 * s) - 1;

/** The read-only fields of our function: header ids, class, header type, subsystem, pin, the capability list, MSI-X table size and locations, BAR flag bits. */
function readOnly(c: PciConfigSpace): number[] {
  const out: number[] = [];
  for (const r of [PCI_REG.VENDOR_ID, PCI_REG.DEVICE_ID, PCI_REG.SUBSYSTEM_VENDOR_ID, PCI_REG.SUBSYSTEM_ID]) out.push(c.get16(r));
  for (const r of [PCI_REG.REVISION, PCI_REG.PROG_IF, PCI_REG.SUBCLASS, PCI_REG.CLASS, PCI_REG.HEADER_TYPE, PCI_REG.INTERRUPT_PIN, PCI_REG.CAPABILITIES]) out.push(c.get8(r));
  for (let cap = c.get8(PCI_REG.CAPABILITIES), n = 0; cap !== 0 && n < 48; cap = c.get8(cap + 1), n++) {
    out.push(cap, c.get8(cap));
    if (c.get8(cap) === PCI_CAP_ID.MSIX) out.push(c.get16(cap + MSIX.CONTROL_OFFSET) & MSIX.CONTROL_TABLE_SIZE_MASK, c.get32(cap + 4), c.get32(cap + 8));
  }
  for (const b of BARS) out.push(c.get32(PCI_REG.BAR0 + 4 * b.index) & (b.kind === 'io' ? PCI_BAR.IO_FLAGS_MASK : PCI_BAR.MEM_FLAGS_MASK));
  return out;
}

function msixState(m: Msix, config: PciConfigSpace): number[] {
  const out: number[] = [];
  for (let off = 0; off < m.tableSize; off += 4) out.push(m.readTable(off, 4));
  for (let off = 0; off < m.pbaSize; off += 4) out.push(m.readPba(off, 4));
  out.push(config.get16(config.get8(PCI_REG.CAPABILITIES) + MSIX.CONTROL_OFFSET));
  return out;
}

function dump(m: Machine): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < 0x1000; i++) bytes.push(m.config.get8(i));
  return [...bytes, ...msixState(m.msix, m.config)];
}

function checkInvariants(m: Machine, vectors: number, fixed: readonly number[]): void {
  assert.deepEqual(readOnly(m.config), fixed, 'a read-only field changed');
  for (const b of BARS) {
    const address = m.config.barAddress(b.index);
    assert.equal(m.reported.get(b.index) ?? null, address, `BAR ${b.index}: last reported address differs from barAddress`);
    if (address !== null) assert.ok(address % b.size === 0 && address + b.size <= 2 ** 52, `BAR ${b.index} decodes at ${address}`);
  }
  for (let v = 0; v < vectors; v++) {
    assert.equal(m.msix.readTable(v * MSIX.ENTRY_SIZE + MSIX.ENTRY_CONTROL, 4) & ~MSIX.ENTRY_CONTROL_MASKED, 0, `vector ${v} control reserved bits`);
    if (m.msix.isPending(v)) assert.ok(m.msix.isMasked(v), `vector ${v} pending while unmasked`);
    assert.equal(m.msix.route(v).masked, m.msix.isMasked(v));
  }
}

interface Scenario {
  readonly vectors: number;
  readonly ops: readonly Op[];
}

function run(s: Scenario): void {
  const a = machine(s.vectors);
  const b = machine(s.vectors);
  const cf8 = new PciConfigIo(a.bus);
  const ecam = new PciEcam(b.bus);
  const fixed = readOnly(a.config);
  const fresh = msixState(machine(s.vectors).msix, machine(s.vectors).config);
  const both = (f: (m: Machine) => number | void): void => {
    const x = f(a);
    const y = f(b);
    assert.equal(x, y, 'the two buses disagree');
  };
  for (const o of s.ops) {
    switch (o.kind) {
      case 'cfgRead': {
        cf8.write(0, 4, (PCI_CONFIG_IO.ENABLE | (o.bus << 16) | (o.dev << 11) | (o.fn << 8) | (o.reg & 0xfc)) >>> 0);
        const viaCf8 = cf8.read(DATA + (o.reg & 3), o.size);
        const viaEcam = ecam.read((o.bus << 20) | (o.dev << 15) | (o.fn << 12) | o.reg, o.size);
        assert.equal(viaCf8, viaEcam, `CF8 and ECAM read ${o.bus}:${o.dev}.${o.fn} reg ${o.reg}+${o.size} differently`);
        assert.ok(Number.isInteger(viaCf8) && viaCf8 >= 0 && viaCf8 <= ones(o.size));
        if (o.bus !== 0 || o.fn !== 0 || (o.dev !== SLOT && o.dev !== 0)) assert.equal(viaCf8, ones(o.size), 'an absent function reads all ones');
        break;
      }
      case 'cfgWrite':
        cf8.write(0, 4, (PCI_CONFIG_IO.ENABLE | (o.bus << 16) | (o.dev << 11) | (o.fn << 8) | (o.reg & 0xfc)) >>> 0);
        cf8.write(DATA + (o.reg & 3), o.size, o.value);
        ecam.write((o.bus << 20) | (o.dev << 15) | (o.fn << 12) | o.reg, o.size, o.value);
        break;
      case 'cf8Raw': {
        cf8.write(0, 4, o.address);
        assert.equal(cf8.read(0, 4), (o.address & 0x80ff_fffc) >>> 0, 'CF8 reads back without its reserved bits');
        const value = cf8.read(o.port, o.size);
        if (o.port < DATA) assert.equal(value, o.port === 0 && o.size === 4 ? (o.address & 0x80ff_fffc) >>> 0 : ones(o.size));
        else if ((o.address & PCI_CONFIG_IO.ENABLE) === 0) assert.equal(value, ones(o.size), 'CF8 without enable reads all ones');
        else {
          const reg = (o.address & 0xfc) + o.port - DATA;
          const expected = ecam.read(((o.address >>> 16) & 0xff) * 2 ** 20 + (((o.address >>> 11) & 0x1f) << 15) + (((o.address >>> 8) & 7) << 12) + reg, o.size);
          assert.equal(value, expected, 'CF8 decodes bus/device/function/register as ECAM does');
        }
        break;
      }
      case 'tableRead':
        both((m) => m.msix.readTable(o.offset, o.size));
        break;
      case 'pbaRead':
        both((m) => m.msix.readPba(o.offset, o.size));
        break;
      case 'tableWrite':
        both((m) => m.msix.writeTable(o.offset, o.size, o.value));
        break;
      case 'pbaWrite': {
        const before = msixState(a.msix, a.config);
        both((m) => m.msix.writePba(o.offset, o.size, o.value));
        assert.deepEqual(msixState(a.msix, a.config), before, 'a PBA write changed MSI-X state');
        break;
      }
      case 'signal':
        both((m) => (m.msix.signal(o.vector) ? 1 : 0));
        break;
      case 'msixReset':
        both((m) => m.msix.reset());
        assert.deepEqual(msixState(a.msix, a.config), fresh, 'MSI-X after reset differs from a fresh one');
        break;
    }
    checkInvariants(a, s.vectors, fixed);
  }
  assert.deepEqual(dump(a), dump(b), 'the CF8 and ECAM buses ended in different states');
}

const scenario: fc.Arbitrary<Scenario> = fc.record({ vectors: fc.integer({ min: 1, max: 9 }), ops: fc.array(op, { minLength: 1, maxLength: 40 }) });

export const PCI_TARGETS: readonly FuzzTarget[] = [fuzzTarget('PCI config space and MSI-X via CF8/CFC and ECAM', 80, scenario, run)];
