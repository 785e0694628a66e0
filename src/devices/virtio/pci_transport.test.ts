import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtioPciTransport, VIRTIO_BAR, VirtioTransportError, type TransportHost } from './pci_transport.js';
import type { VirtioDevice } from './device.js';
import { VIRTIO_COMMON as C, VIRTIO_F, VIRTIO_ISR, VIRTIO_PCI, VIRTIO_PCI_CAP, VIRTIO_STATUS as S, featureBit } from './constants.js';
import { SHARED, SharedInterrupts, createSharedState, hasFeature, markNeedsReset, negotiatedFeatures, readQueueConfig } from './shared_state.js';
import { PCI_CAP_ID, PCI_COMMAND, PCI_REG } from '../../pci/constants.js';
import type { MsixRoute } from '../../pci/msix.js';
import { MSIX } from '../../pci/msix.js';
import { GuestMemory } from '../../memory/guest_memory.js';
import { SplitQueue } from './queue_split.js';
import { PackedQueue } from './queue_packed.js';
import { createQueue } from './runtime.js';
import { QueueConfigError } from './queue.js';

const DEVICE_FEATURES = featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_F.RING_PACKED) | featureBit(VIRTIO_F.RING_EVENT_IDX) | featureBit(VIRTIO_F.INDIRECT_DESC) | 0b110n;

class FakeDevice implements VirtioDevice {
  readonly deviceType = 2;
  readonly features = DEVICE_FEATURES;
  readonly queueMaxSizes = [256, 64];
  readonly configSize = 8;
  readonly pciClass = 0x010000;
  readonly bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  activated: bigint[] = [];
  resets = 0;
  readConfig(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.bytes[offset + i]!;
    return v;
  }
  writeConfig(offset: number, _size: number, value: number): void {
    this.bytes[offset] = value;
  }
  activate(features: bigint): void {
    this.activated.push(features);
  }
  reset(): void {
    this.resets++;
  }
}

class FakeHost implements TransportHost {
  log: string[] = [];
  routes: Array<[number, MsixRoute]> = [];
  barMapped(bar: number, gpa: number | null): void {
    this.log.push(`bar${bar}=${gpa === null ? 'null' : gpa.toString(16)}`);
  }
  msixRouteChanged(vector: number, route: MsixRoute): void {
    this.routes.push([vector, route]);
  }
  activate(): void {
    this.log.push('activate');
  }
  reset(): void {
    this.log.push('reset');
  }
  notify(q: number): void {
    this.log.push(`notify${q}`);
  }
}

function setup() {
  const device = new FakeDevice();
  const host = new FakeHost();
  const state = createSharedState(2, false);
  const t = new VirtioPciTransport(device, state, host);
  const w = (off: number, size: number, v: number) => t.write(VIRTIO_BAR.COMMON + off, size, v);
  const r = (off: number, size: number) => t.read(VIRTIO_BAR.COMMON + off, size);
  return { device, host, state, t, w, r };
}

/** The Linux init sequence up to FEATURES_OK, accepting `features`. */
function negotiate(w: (o: number, s: number, v: number) => void, features: bigint): void {
  w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE);
  w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER);
  w(C.DRIVER_FEATURE_SELECT, 4, 0);
  w(C.DRIVER_FEATURE, 4, Number(features & 0xffffffffn));
  w(C.DRIVER_FEATURE_SELECT, 4, 1);
  w(C.DRIVER_FEATURE, 4, Number(features >> 32n));
  w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
}

test('PCI identity and a 64-bit BAR 0 that sizes to 32 KiB and maps when enabled', () => {
  const { t, host } = setup();
  const c = t.config;
  assert.equal(c.read(0, 4), 0x1042_1af4);
  assert.equal(c.read(PCI_REG.REVISION, 1), 1);
  assert.equal(c.read(PCI_REG.REVISION, 4) >>> 8, 0x010000);
  assert.equal(c.read(PCI_REG.SUBSYSTEM_ID, 2), 0x40);
  t.configWrite(PCI_REG.BAR0, 4, 0xffffffff);
  assert.equal(t.configRead(PCI_REG.BAR0, 4), 0xffff_8004);
  t.configWrite(PCI_REG.BAR0, 4, 0xc000_0000);
  t.configWrite(PCI_REG.BAR0 + 4, 4, 0);
  t.configWrite(PCI_REG.COMMAND, 2, PCI_COMMAND.MEMORY);
  assert.deepEqual(host.log, ['bar0=c0000000']);
});

test('the capability walk finds MSI-X and every virtio structure', () => {
  const { t } = setup();
  const c = t.config;
  const found = new Map<number, { bar: number; offset: number; length: number; mult?: number }>();
  let msix = 0;
  for (let p = c.read(PCI_REG.CAPABILITIES, 1); p !== 0; p = c.read(p + 1, 1)) {
    if (c.read(p, 1) === PCI_CAP_ID.MSIX) msix = p;
    if (c.read(p, 1) !== PCI_CAP_ID.VENDOR) continue;
    const type = c.read(p + 3, 1);
    const entry = { bar: c.read(p + 4, 1), offset: c.read(p + 8, 4), length: c.read(p + 12, 4) };
    found.set(type, type === VIRTIO_PCI_CAP.NOTIFY_CFG ? { ...entry, mult: c.read(p + 16, 4) } : entry);
    assert.equal(c.read(p + 2, 1), type === VIRTIO_PCI_CAP.COMMON_CFG || type === VIRTIO_PCI_CAP.ISR_CFG || type === VIRTIO_PCI_CAP.DEVICE_CFG ? 16 : 20);
  }
  assert.ok(msix > 0);
  assert.equal(c.read(msix + 2, 2) & MSIX.CONTROL_TABLE_SIZE_MASK, 2, 'one vector per queue plus config');
  assert.deepEqual(found.get(VIRTIO_PCI_CAP.COMMON_CFG), { bar: 0, offset: 0, length: C.LENGTH });
  assert.deepEqual(found.get(VIRTIO_PCI_CAP.NOTIFY_CFG), { bar: 0, offset: 0x3000, length: 8, mult: 4 });
  assert.deepEqual(found.get(VIRTIO_PCI_CAP.ISR_CFG), { bar: 0, offset: 0x1000, length: 1 });
  assert.deepEqual(found.get(VIRTIO_PCI_CAP.DEVICE_CFG), { bar: 0, offset: 0x2000, length: 8 });
  assert.ok(found.has(VIRTIO_PCI_CAP.PCI_CFG));
});

test('device features are read through the select register, at any width', () => {
  const { w, r } = setup();
  assert.equal(r(C.DEVICE_FEATURE, 4), Number(DEVICE_FEATURES & 0xffffffffn));
  assert.equal(r(C.DEVICE_FEATURE + 3, 1), 0x30, 'INDIRECT_DESC (28) and EVENT_IDX (29) in the top byte');
  w(C.DEVICE_FEATURE_SELECT, 4, 1);
  assert.equal(r(C.DEVICE_FEATURE, 4), 0b101, 'VERSION_1 and RING_PACKED');
  w(C.DEVICE_FEATURE_SELECT, 4, 2);
  assert.equal(r(C.DEVICE_FEATURE, 4), 0);
  assert.equal(r(C.NUM_QUEUES, 2), 2);
  w(C.NUM_QUEUES, 2, 9);
  assert.equal(r(C.NUM_QUEUES, 2), 2, 'read-only');
});

test('status: full init, feature negotiation, DRIVER_OK activates', () => {
  const { w, r, state, device, host } = setup();
  const accepted = featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_F.RING_EVENT_IDX) | 0b10n;
  negotiate(w, accepted);
  assert.equal(r(C.DEVICE_STATUS, 1), S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
  assert.equal(negotiatedFeatures(state), accepted);
  assert.equal(hasFeature(state, VIRTIO_F.RING_EVENT_IDX), true);
  assert.equal(hasFeature(state, VIRTIO_F.RING_PACKED), false);
  w(C.DRIVER_FEATURE_SELECT, 4, 0);
  w(C.DRIVER_FEATURE, 4, 0);
  assert.equal(r(C.DRIVER_FEATURE, 4), Number(accepted & 0xffffffffn), 'features are frozen after FEATURES_OK');
  w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
  assert.equal(r(C.DEVICE_STATUS, 1), 0x0f);
  assert.deepEqual(device.activated, [accepted]);
  assert.deepEqual(host.log, ['activate']);
});

test('FEATURES_OK is refused without VERSION_1 or with features never offered', () => {
  const a = setup();
  negotiate(a.w, featureBit(VIRTIO_F.RING_EVENT_IDX));
  assert.equal(a.r(C.DEVICE_STATUS, 1), S.ACKNOWLEDGE | S.DRIVER);
  a.w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
  assert.equal(a.r(C.DEVICE_STATUS, 1), S.ACKNOWLEDGE | S.DRIVER, 'DRIVER_OK needs FEATURES_OK');
  assert.deepEqual(a.device.activated, []);
  const b = setup();
  negotiate(b.w, featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_F.NOTIFICATION_DATA));
  assert.equal(b.r(C.DEVICE_STATUS, 1) & S.FEATURES_OK, 0);
});

test('status bits go in order, cannot be cleared, and 0 resets everything', () => {
  const { w, r, state, device, host } = setup();
  w(C.DEVICE_STATUS, 1, S.DRIVER);
  assert.equal(r(C.DEVICE_STATUS, 1), 0, 'DRIVER needs ACKNOWLEDGE');
  negotiate(w, featureBit(VIRTIO_F.VERSION_1));
  w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE);
  assert.equal(r(C.DEVICE_STATUS, 1), S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK, 'bits cannot be cleared');
  w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DEVICE_NEEDS_RESET);
  assert.equal(r(C.DEVICE_STATUS, 1) & S.DEVICE_NEEDS_RESET, 0, 'the driver cannot set NEEDS_RESET');
  w(C.QUEUE_SELECT, 2, 1);
  w(C.QUEUE_SIZE, 2, 16);
  w(C.QUEUE_MSIX_VECTOR, 2, 1);
  w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.FAILED);
  assert.equal(r(C.DEVICE_STATUS, 1) & S.FAILED, S.FAILED);
  const epoch = state[SHARED.RESET_EPOCH]!;
  w(C.DEVICE_STATUS, 1, 0);
  assert.equal(r(C.DEVICE_STATUS, 1), 0);
  assert.deepEqual(host.log, ['reset']);
  assert.equal(device.resets, 1);
  assert.equal(state[SHARED.RESET_EPOCH], epoch + 1);
  assert.equal(negotiatedFeatures(state), 0n);
  assert.equal(r(C.QUEUE_SELECT, 2), 0);
  w(C.QUEUE_SELECT, 2, 1);
  assert.equal(r(C.QUEUE_SIZE, 2), 64, 'back to the maximum');
  assert.equal(r(C.QUEUE_MSIX_VECTOR, 2), VIRTIO_PCI.NO_VECTOR);
});

test('queue configuration: sizes honoured up to the maximum, addresses, enable, then frozen', () => {
  const { w, r, state } = setup();
  negotiate(w, featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_F.INDIRECT_DESC));
  w(C.QUEUE_SELECT, 2, 0);
  assert.equal(r(C.QUEUE_SIZE, 2), 256);
  w(C.QUEUE_SIZE, 2, 512);
  assert.equal(r(C.QUEUE_SIZE, 2), 256, 'above the maximum is ignored');
  w(C.QUEUE_SIZE, 2, 0);
  assert.equal(r(C.QUEUE_SIZE, 2), 256);
  w(C.QUEUE_SIZE, 2, 32);
  assert.equal(r(C.QUEUE_SIZE, 2), 32);
  w(C.QUEUE_DESC_LO, 4, 0x1000);
  w(C.QUEUE_DESC_HI, 4, 0x1);
  w(C.QUEUE_DRIVER_LO, 4, 0x2000);
  w(C.QUEUE_DEVICE_LO, 4, 0x3000);
  w(C.QUEUE_DEVICE_LO, 2, 0x4444);
  assert.equal(r(C.QUEUE_DEVICE_LO, 4), 0x3000, 'a partial write of a field is dropped');
  assert.equal(r(C.QUEUE_DESC_HI, 4), 1);
  assert.equal(r(C.QUEUE_NOTIFY_OFF, 2), 0);
  w(C.QUEUE_MSIX_VECTOR, 2, 7);
  assert.equal(r(C.QUEUE_MSIX_VECTOR, 2), VIRTIO_PCI.NO_VECTOR, 'vector beyond the table');
  w(C.QUEUE_MSIX_VECTOR, 2, 1);
  w(C.QUEUE_ENABLE, 2, 1);
  assert.deepEqual(readQueueConfig(state, 0), { size: 32, enabled: true, vector: 1, desc: 0x1_0000_1000, driver: 0x2000, device: 0x3000 });
  w(C.QUEUE_SIZE, 2, 16);
  w(C.QUEUE_DESC_LO, 4, 0);
  assert.equal(readQueueConfig(state, 0).size, 32, 'an enabled queue is frozen');
  w(C.QUEUE_SELECT, 2, 1);
  assert.equal(r(C.QUEUE_NOTIFY_OFF, 2), 1);
  w(C.QUEUE_SIZE, 2, 48);
  w(C.QUEUE_ENABLE, 2, 1);
  assert.equal(readQueueConfig(state, 1).enabled, false, 'a split queue must be a power of two');
  assert.equal(r(C.DEVICE_STATUS, 1) & S.DEVICE_NEEDS_RESET, S.DEVICE_NEEDS_RESET);
  w(C.QUEUE_SELECT, 2, 5);
  assert.equal(r(C.QUEUE_SIZE, 2), 0, 'an absent queue has size 0');
  w(C.QUEUE_SIZE, 2, 8);
  assert.equal(r(C.QUEUE_ENABLE, 2), 0);
});

test('queues cannot be reconfigured after DRIVER_OK, and the worker rebuilds them from shared state', () => {
  const { w, state } = setup();
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(0x10000) }]);
  negotiate(w, featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_F.RING_PACKED));
  w(C.QUEUE_SIZE, 2, 48);
  w(C.QUEUE_DESC_LO, 4, 0x1000);
  w(C.QUEUE_DRIVER_LO, 4, 0x2000);
  w(C.QUEUE_DEVICE_LO, 4, 0x2004);
  w(C.QUEUE_ENABLE, 2, 1);
  w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
  w(C.QUEUE_SELECT, 2, 1);
  w(C.QUEUE_ENABLE, 2, 1);
  assert.equal(readQueueConfig(state, 1).enabled, false);
  const q0 = createQueue(mem, state, 0);
  assert.ok(q0 instanceof PackedQueue, 'packed ring negotiated; any size is fine');
  assert.equal(q0.size, 48);
  assert.equal(createQueue(mem, state, 1), null);

  const split = setup();
  negotiate(split.w, featureBit(VIRTIO_F.VERSION_1));
  split.w(C.QUEUE_SIZE, 2, 16);
  split.w(C.QUEUE_DESC_LO, 4, 0x1000);
  split.w(C.QUEUE_DRIVER_LO, 4, 0x2000);
  split.w(C.QUEUE_DEVICE_LO, 4, 0x3000);
  split.w(C.QUEUE_ENABLE, 2, 1);
  const q = createQueue(mem, split.state, 0);
  assert.ok(q instanceof SplitQueue);
  assert.equal(q.size, 16);
  split.w(C.QUEUE_SELECT, 2, 1);
  split.w(C.QUEUE_DESC_LO, 4, 0xfff0);
  split.w(C.QUEUE_ENABLE, 2, 1);
  assert.throws(() => createQueue(mem, split.state, 1), QueueConfigError, 'a ring outside RAM is refused on the worker side');
});

test('notify writes reach the host; ISR is read-to-clear; device config passes through', () => {
  const { t, host, state, device } = setup();
  t.write(t.notifyOffset(1), 2, 1);
  t.write(t.notifyOffset(2), 2, 2);
  assert.deepEqual(host.log, ['notify1']);
  Atomics.or(state, SHARED.ISR, VIRTIO_ISR.QUEUE | VIRTIO_ISR.CONFIG);
  assert.equal(t.read(VIRTIO_BAR.ISR, 1), 3);
  assert.equal(t.read(VIRTIO_BAR.ISR, 1), 0);
  assert.equal(t.read(VIRTIO_BAR.DEVICE + 4, 4), 0x08070605);
  assert.equal(t.read(VIRTIO_BAR.DEVICE + 6, 4), 0, 'past the device config');
  t.write(VIRTIO_BAR.DEVICE + 1, 1, 0x99);
  assert.equal(device.bytes[1], 0x99);
  t.write(VIRTIO_BAR.DEVICE + 8, 1, 0x99);
  assert.equal(t.read(VIRTIO_BAR.COMMON + C.LENGTH, 4), 0);
});

test('MSI-X through BAR 0: routes reach the host and the enable bit reaches the worker', () => {
  const { t, host, state } = setup();
  const cap = (() => {
    for (let p = t.config.read(PCI_REG.CAPABILITIES, 1); p !== 0; p = t.config.read(p + 1, 1)) if (t.config.read(p, 1) === PCI_CAP_ID.MSIX) return p;
    return 0;
  })();
  t.configWrite(cap + 2, 2, MSIX.CONTROL_ENABLE);
  assert.equal(state[SHARED.MSIX_ENABLED], 1);
  host.routes.length = 0;
  t.write(VIRTIO_BAR.MSIX_TABLE + 16, 4, 0xfee0_0000);
  t.write(VIRTIO_BAR.MSIX_TABLE + 24, 4, 0x41);
  t.write(VIRTIO_BAR.MSIX_TABLE + 28, 4, 0);
  assert.deepEqual(host.routes.at(-1), [1, { address: 0xfee0_0000, data: 0x41, masked: false }]);
  assert.equal(t.read(VIRTIO_BAR.MSIX_TABLE + 24, 4), 0x41);
  assert.equal(t.read(VIRTIO_BAR.MSIX_PBA, 4), 0);
});

test('interrupts from the queue side: INTx + ISR, or MSI-X vectors', () => {
  const { w, state } = setup();
  const fired: string[] = [];
  const sink = new SharedInterrupts(state, { msi: (v) => fired.push(`msi${v}`), intx: () => fired.push('intx') });
  sink.queue(1);
  assert.equal(state[SHARED.ISR], VIRTIO_ISR.QUEUE);
  state[SHARED.MSIX_ENABLED] = 1;
  sink.queue(1);
  sink.queue(VIRTIO_PCI.NO_VECTOR);
  w(C.CONFIG_MSIX_VECTOR, 2, 2);
  sink.config();
  assert.deepEqual(fired, ['intx', 'msi1', 'msi2']);
  assert.equal(state[SHARED.ISR], VIRTIO_ISR.QUEUE | VIRTIO_ISR.CONFIG);
  // NEEDS_RESET from the worker: raise a config interrupt only once, only after DRIVER_OK.
  negotiate(w, featureBit(VIRTIO_F.VERSION_1));
  w(C.DEVICE_STATUS, 1, S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
  markNeedsReset(state, sink);
  markNeedsReset(state, sink);
  assert.deepEqual(fired, ['intx', 'msi1', 'msi2', 'msi2']);
  assert.equal(state[SHARED.STATUS]! & S.DEVICE_NEEDS_RESET, S.DEVICE_NEEDS_RESET);
});

test('the PCI_CFG capability reaches BAR registers through config space', () => {
  const { t } = setup();
  let cap = 0;
  for (let p = t.config.read(PCI_REG.CAPABILITIES, 1); p !== 0; p = t.config.read(p + 1, 1)) {
    if (t.config.read(p, 1) === PCI_CAP_ID.VENDOR && t.config.read(p + 3, 1) === VIRTIO_PCI_CAP.PCI_CFG) cap = p;
  }
  t.configWrite(cap + 4, 1, 0);
  t.configWrite(cap + 8, 4, C.NUM_QUEUES);
  t.configWrite(cap + 12, 4, 2);
  assert.equal(t.configRead(cap + 16, 4) & 0xffff, 2);
  t.configWrite(cap + 8, 4, C.DEVICE_STATUS);
  t.configWrite(cap + 12, 4, 1);
  t.configWrite(cap + 16, 4, S.ACKNOWLEDGE);
  assert.equal(t.read(VIRTIO_BAR.COMMON + C.DEVICE_STATUS, 1), S.ACKNOWLEDGE);
  t.configWrite(cap + 12, 4, 3);
  t.configWrite(cap + 16, 4, 0);
  assert.equal(t.read(VIRTIO_BAR.COMMON + C.DEVICE_STATUS, 1), S.ACKNOWLEDGE, 'length 3 does nothing');
});

test('construction rejects devices the transport cannot present', () => {
  const host = new FakeHost();
  const bad = (patch: Partial<VirtioDevice>) => Object.assign(new FakeDevice(), patch) as VirtioDevice;
  assert.throws(() => new VirtioPciTransport(bad({ features: 0n } as Partial<VirtioDevice>), createSharedState(2, false), host), VirtioTransportError);
  assert.throws(() => new VirtioPciTransport(bad({ queueMaxSizes: [100] } as Partial<VirtioDevice>), createSharedState(1, false), host), VirtioTransportError);
  assert.throws(() => new VirtioPciTransport(new FakeDevice(), createSharedState(1, false), host), VirtioTransportError);
});
