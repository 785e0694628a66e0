// Fuzz target for the virtio-pci transport: random reads and writes of every
// width at every offset of BAR 0 (common config, ISR, device config, notify,
// MSI-X table and PBA) and of PCI config space (BARs, MSI-X control, the
// PCI_CFG window), in random device-status orders, with a fake device and a
// fake TransportHost.
//
// Invariants (pci_transport.ts is the contract):
// - no guest access throws, and a read of n bytes is an integer below 2^(8n);
// - writing 0 to device_status resets: every common-config register of every
//   queue select reads as right after construction, the shared state is as
//   after construction (but for the reset epoch, one more, and MSI-X enable),
//   and host.reset() and device.reset() ran once;
// - the status only gains bits between resets (DEVICE_NEEDS_RESET is the
//   device's), FEATURES_OK only with a subset of the offer including
//   VERSION_1, DRIVER_OK only after FEATURES_OK, and activation happens once
//   per reset with the negotiated features;
// - queue configuration is frozen once DRIVER_OK is set; an enabled queue has
//   a size in 1..max (a power of two for a split ring);
// - notify() only for existing queues, MSI-X routes only for existing vectors.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { u8, u32, sizedValue } from '../../fuzz/arbitraries.js';
import { fuzzTarget, type FuzzTarget } from '../../fuzz/target.js';
import type { MsixRoute } from '../../pci/msix.js';
import { VIRTIO_COMMON as C, VIRTIO_F, VIRTIO_STATUS as S, featureBit } from './constants.js';
import type { VirtioDevice } from './device.js';
import { VIRTIO_BAR, VirtioPciTransport, type TransportHost } from './pci_transport.js';
import { QUEUE_WORD, SHARED, createSharedState, queueWord, sharedStateWords } from './shared_state.js';

const OFFERED = featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_F.RING_PACKED) | featureBit(VIRTIO_F.RING_EVENT_IDX) | featureBit(VIRTIO_F.INDIRECT_DESC) | 0b1011n;

class FuzzDevice implements VirtioDevice {
  readonly deviceType = 2;
  readonly features = OFFERED;
  readonly pciClass = 0x010000;
  readonly bytes: Uint8Array;
  activations: bigint[] = [];
  resets = 0;
  constructor(
    readonly queueMaxSizes: readonly number[],
    readonly configSize: number,
  ) {
    this.bytes = new Uint8Array(configSize).map((_, i) => i * 37);
  }
  readConfig(offset: number, size: number): number {
    assert.ok(offset >= 0 && offset + size <= this.configSize, `device config read ${offset}+${size} past ${this.configSize}`);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.bytes[offset + i]!;
    return v;
  }
  writeConfig(offset: number, size: number, value: number): void {
    assert.ok(offset >= 0 && offset + size <= this.configSize, `device config write ${offset}+${size} past ${this.configSize}`);
    this.bytes[offset] = value & 0xff;
  }
  activate(features: bigint): void {
    this.activations.push(features);
  }
  reset(): void {
    this.resets++;
  }
}

class FuzzHost implements TransportHost {
  resets = 0;
  activations = 0;
  constructor(
    private readonly queues: number,
    private readonly vectors: number,
  ) {}
  barMapped(): void {}
  msixRouteChanged(vector: number, _route: MsixRoute): void {
    assert.ok(Number.isInteger(vector) && vector >= 0 && vector < this.vectors, `MSI-X route for vector ${vector} of ${this.vectors}`);
  }
  activate(): void {
    this.activations++;
  }
  reset(): void {
    this.resets++;
  }
  notify(q: number): void {
    assert.ok(Number.isInteger(q) && q >= 0 && q < this.queues, `notify for queue ${q} of ${this.queues}`);
  }
}

type Op =
  | { readonly kind: 'read'; readonly offset: number; readonly size: 1 | 2 | 4 }
  | { readonly kind: 'write'; readonly offset: number; readonly size: 1 | 2 | 4; readonly value: number }
  | { readonly kind: 'status'; readonly value: number }
  | { readonly kind: 'features'; readonly select: number; readonly mask: number }
  | { readonly kind: 'handshake'; readonly mask: readonly [number, number]; readonly queue: number; readonly size: number; readonly addresses: readonly number[]; readonly enable: boolean }
  | { readonly kind: 'configRead'; readonly reg: number; readonly size: 1 | 2 | 4 }
  | { readonly kind: 'configWrite'; readonly reg: number; readonly size: 1 | 2 | 4; readonly value: number };

/** BAR 0 offsets, mostly where the registers are. */
const barOffset = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: C.LENGTH + 4 }) },
  { weight: 1, arbitrary: fc.nat({ max: 8 }).map((o) => VIRTIO_BAR.ISR + o) },
  { weight: 1, arbitrary: fc.nat({ max: 40 }).map((o) => VIRTIO_BAR.DEVICE + o) },
  { weight: 1, arbitrary: fc.nat({ max: 20 }).map((o) => VIRTIO_BAR.NOTIFY + o) },
  { weight: 2, arbitrary: fc.nat({ max: 80 }).map((o) => VIRTIO_BAR.MSIX_TABLE + o) },
  { weight: 1, arbitrary: fc.nat({ max: 16 }).map((o) => VIRTIO_BAR.MSIX_PBA + o) },
  { weight: 1, arbitrary: fc.nat({ max: VIRTIO_BAR.SIZE - 1 }) },
);

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), offset: barOffset, size: fc.constantFrom(1 as const, 2 as const, 4 as const) }) },
  { weight: 5, arbitrary: fc.tuple(barOffset, sizedValue()).map(([offset, v]) => ({ kind: 'write' as const, offset, ...v })) },
  // The usual sequence 1, 3, 11, 15 (and 0: reset) most of the time, then anything.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('status' as const), value: fc.oneof(fc.constantFrom(0, 1, 3, 11, 15, 0x40, 0x80), u8()) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('features' as const), select: fc.oneof(fc.constantFrom(0, 1), u32()), mask: fc.oneof(fc.constant(0xffff_ffff), u32()) }) },
  // A driver's whole bring-up (§3.1.1), with random features and one queue programmed.
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('handshake' as const),
      mask: fc.tuple(u32(), u32()),
      queue: fc.nat({ max: 3 }),
      size: fc.oneof(fc.constantFrom(1, 2, 3, 16, 256, 257), fc.nat({ max: 0xffff })),
      addresses: fc.array(u32(), { minLength: 6, maxLength: 6 }),
      enable: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('configRead' as const), reg: fc.oneof(fc.nat({ max: 0xff }), fc.nat({ max: 0xfff })), size: fc.constantFrom(1 as const, 2 as const, 4 as const) }) },
  { weight: 2, arbitrary: fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 0xff }) }, { weight: 1, arbitrary: fc.nat({ max: 0xfff }) }), sizedValue()).map(([reg, v]) => ({ kind: 'configWrite' as const, reg, ...v })) },
);

interface Scenario {
  readonly queueSizes: readonly number[];
  readonly configSize: number;
  readonly ops: readonly Op[];
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  queueSizes: fc.array(fc.constantFrom(1, 2, 16, 256), { minLength: 1, maxLength: 3 }),
  configSize: fc.nat({ max: 24 }),
  ops: fc.array(op, { minLength: 1, maxLength: 48 }),
});

const COMMON_FIELDS: ReadonlyArray<readonly [number, 1 | 2 | 4]> = [
  [C.DEVICE_FEATURE_SELECT, 4], [C.DEVICE_FEATURE, 4], [C.DRIVER_FEATURE_SELECT, 4], [C.DRIVER_FEATURE, 4],
  [C.CONFIG_MSIX_VECTOR, 2], [C.NUM_QUEUES, 2], [C.DEVICE_STATUS, 1], [C.CONFIG_GENERATION, 1],
  [C.QUEUE_SELECT, 2], [C.QUEUE_SIZE, 2], [C.QUEUE_MSIX_VECTOR, 2], [C.QUEUE_ENABLE, 2], [C.QUEUE_NOTIFY_OFF, 2],
  [C.QUEUE_DESC_LO, 4], [C.QUEUE_DESC_HI, 4], [C.QUEUE_DRIVER_LO, 4], [C.QUEUE_DRIVER_HI, 4],
  [C.QUEUE_DEVICE_LO, 4], [C.QUEUE_DEVICE_HI, 4], [C.QUEUE_NOTIFY_DATA, 2], [C.QUEUE_RESET, 2],
];

function handshake(t: VirtioPciTransport, o: Extract<Op, { kind: 'handshake' }>, offered: readonly number[]): void {
  t.write(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE);
  t.write(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER);
  for (const select of [0, 1]) {
    t.write(C.DRIVER_FEATURE_SELECT, 4, select);
    const version = select === 1 ? 1 << (VIRTIO_F.VERSION_1 - 32) : 0;
    t.write(C.DRIVER_FEATURE, 4, ((offered[select]! & o.mask[select]!) | version) >>> 0);
  }
  t.write(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
  t.write(C.QUEUE_SELECT, 2, o.queue);
  t.write(C.QUEUE_SIZE, 2, o.size);
  const fields = [C.QUEUE_DESC_LO, C.QUEUE_DESC_HI, C.QUEUE_DRIVER_LO, C.QUEUE_DRIVER_HI, C.QUEUE_DEVICE_LO, C.QUEUE_DEVICE_HI];
  fields.forEach((f, i) => t.write(f, 4, o.addresses[i]!));
  if (o.enable) t.write(C.QUEUE_ENABLE, 2, 1);
  t.write(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
}

/**
 * Every common-config register at the current queue select, then for every
 * queue select (and one past the last), then ISR; leaves queue_select at 0.
 */
function registers(t: VirtioPciTransport): number[] {
  const out: number[] = COMMON_FIELDS.map(([off, size]) => t.read(off, size));
  for (let q = 0; q <= t.numQueues; q++) {
    t.write(C.QUEUE_SELECT, 2, q);
    for (const [off, size] of COMMON_FIELDS) out.push(t.read(off, size));
  }
  t.write(C.QUEUE_SELECT, 2, 0);
  out.push(t.read(VIRTIO_BAR.ISR, 1));
  return out;
}

/** Shared words a reset restores: all but the reset epoch and the MSI-X enable bit. */
function resetWords(state: Int32Array): number[] {
  return [...state].filter((_, i) => i !== SHARED.RESET_EPOCH && i !== SHARED.MSIX_ENABLED);
}

function queueWords(state: Int32Array, queues: number): number[] {
  const words = [QUEUE_WORD.SIZE, QUEUE_WORD.ENABLED, QUEUE_WORD.DESC_LO, QUEUE_WORD.DESC_HI, QUEUE_WORD.DRIVER_LO, QUEUE_WORD.DRIVER_HI, QUEUE_WORD.DEVICE_LO, QUEUE_WORD.DEVICE_HI];
  const out: number[] = [];
  for (let q = 0; q < queues; q++) for (const w of words) out.push(Atomics.load(state, queueWord(q, w)));
  return out;
}

function inWidth(v: number, size: number): boolean {
  return Number.isInteger(v) && v >= 0 && v < 2 ** (8 * size);
}

function apply(t: VirtioPciTransport, o: Scenario['ops'][number], offered: number[]): void {
  switch (o.kind) {
    case 'read':
      assert.ok(inWidth(t.read(o.offset, o.size), o.size), `BAR read ${o.offset}+${o.size}`);
      break;
    case 'write':
      t.write(o.offset, o.size, o.value);
      break;
    case 'status':
      t.write(C.DEVICE_STATUS, 1, o.value);
      break;
    case 'features':
      t.write(C.DRIVER_FEATURE_SELECT, 4, o.select >>> 0);
      t.write(C.DRIVER_FEATURE, 4, ((offered[o.select] ?? 0) & o.mask) >>> 0);
      break;
    case 'handshake':
      handshake(t, o, offered);
      break;
    case 'configRead':
      assert.ok(inWidth(t.configRead(o.reg, o.size), o.size), `config read ${o.reg}+${o.size}`);
      break;
    case 'configWrite':
      t.configWrite(o.reg, o.size, o.value);
      break;
  }
}

function run(s: Scenario): void {
  const n = s.queueSizes.length;
  const device = new FuzzDevice(s.queueSizes, s.configSize);
  const host = new FuzzHost(n, n + 1);
  const state = createSharedState(n, false);
  const t = new VirtioPciTransport(device, state, host);
  const initialRegisters = registers(t);
  const initialWords = resetWords(state);
  const offered = [Number(OFFERED & 0xffff_ffffn), Number(OFFERED >> 32n)];
  let frozen: number[] | null = null;
  let epoch = Atomics.load(state, SHARED.RESET_EPOCH);
  /** host.activations at the last reset: activation is counted per reset. */
  let activationBase = 0;
  for (const o of s.ops) {
    const before = Atomics.load(state, SHARED.STATUS);
    const resets = host.resets;
    apply(t, o, offered);
    const status = Atomics.load(state, SHARED.STATUS);
    if (host.resets !== resets) {
      // A reset: everything as after construction.
      assert.equal(host.resets, resets + 1);
      assert.equal(device.resets, host.resets);
      assert.equal(Atomics.load(state, SHARED.RESET_EPOCH), epoch + 1);
      epoch++;
      assert.deepEqual(resetWords(state), initialWords, 'shared state after reset');
      assert.deepEqual(registers(t), initialRegisters, 'registers after reset');
      assert.equal(host.activations, device.activations.length);
      activationBase = host.activations;
      frozen = null;
      continue;
    }
    const mask = ~S.DEVICE_NEEDS_RESET;
    assert.equal(status & before & mask, before & mask, `status lost bits: ${before} -> ${status} without a reset`);
    if (status & S.FEATURES_OK) {
      const lo = Atomics.load(state, SHARED.FEATURES_LO) >>> 0;
      const hi = Atomics.load(state, SHARED.FEATURES_HI) >>> 0;
      assert.equal((lo & ~offered[0]!) >>> 0, 0, 'negotiated features beyond the offer');
      assert.equal((hi & ~offered[1]!) >>> 0, 0, 'negotiated features beyond the offer');
      assert.notEqual(hi & (1 << (VIRTIO_F.VERSION_1 - 32)), 0, 'FEATURES_OK without VERSION_1');
    }
    if (status & S.DRIVER_OK) {
      assert.notEqual(status & S.FEATURES_OK, 0, 'DRIVER_OK without FEATURES_OK');
      assert.equal(host.activations - activationBase, 1, 'activated once per reset');
      const features = BigInt(Atomics.load(state, SHARED.FEATURES_LO) >>> 0) | (BigInt(Atomics.load(state, SHARED.FEATURES_HI) >>> 0) << 32n);
      assert.deepEqual(device.activations.slice(-1), [features]);
      const words = queueWords(state, n);
      if (frozen === null) frozen = words;
      else assert.deepEqual(words, frozen, 'queue configuration changed after DRIVER_OK');
    } else {
      assert.equal(host.activations - activationBase, 0, 'activated without DRIVER_OK');
    }
    const packed = (Atomics.load(state, SHARED.FEATURES_HI) & (1 << (VIRTIO_F.RING_PACKED - 32))) !== 0;
    for (let q = 0; q < n; q++) {
      if (Atomics.load(state, queueWord(q, QUEUE_WORD.ENABLED)) === 0) continue;
      const size = Atomics.load(state, queueWord(q, QUEUE_WORD.SIZE));
      assert.ok(size >= 1 && size <= s.queueSizes[q]!, `queue ${q} enabled with size ${size}`);
      assert.ok(packed || (size & (size - 1)) === 0, `split queue ${q} enabled with size ${size}`);
    }
  }
  assert.equal(sharedStateWords(n), state.length);
}

export const TRANSPORT_TARGETS: readonly FuzzTarget[] = [fuzzTarget('virtio-pci transport registers and reset', 150, scenario, run)];
