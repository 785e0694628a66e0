// virtio-pci, modern only (virtio 1.2 §4.1): the PCI function of one virtio
// device, with the common / notify / ISR / device-config / PCI-config
// capabilities and MSI-X, all in one 64-bit memory BAR (BAR 0):
//
//   0x0000 common config (§4.1.4.3)      0x3000 notify: queue q at 0x3000 + 4q
//   0x1000 ISR status (§4.1.4.5)         0x4000 MSI-X table
//   0x2000 device config (§4.1.4.6)      0x6000 MSI-X PBA
//
// Seams:
// - Runs on the vCPU thread: config-space accesses (configRead/configWrite,
//   reached through PciBus) and BAR accesses (read/write: this object is the
//   BusDevice the host maps at BAR 0's address when `barMapped` says so).
// - State the queue worker needs lives in the shared Int32Array
//   (shared_state.ts); this class is its only writer apart from the worker's
//   ISR and DEVICE_NEEDS_RESET bits.
// - Side effects go through TransportHost. Kicks normally never reach this
//   code: the host registers one ioeventfd per queue at BAR 0 +
//   notifyOffset(q) (2-byte writes of the queue index); a write that does
//   arrive here is passed on as host.notify(q).
// - MSI-X: the host turns msixRouteChanged into KVM GSI routes + irqfds.
import type { BusDevice } from '../../bus/bus.js';
import { PciConfigSpace } from '../../pci/config_space.js';
import { PCI_INTERRUPT_PIN } from '../../pci/constants.js';
import { Msix, type MsixRoute } from '../../pci/msix.js';
import type { PciFunction } from '../../pci/pci_bus.js';
import { SPLIT, VIRTIO_COMMON as C, VIRTIO_F, VIRTIO_PCI, VIRTIO_PCI_CAP, VIRTIO_STATUS as S, featureBit } from './constants.js';
import type { VirtioDevice } from './device.js';
import { QUEUE_WORD, SHARED, queueWord, sharedStateWords } from './shared_state.js';
import { VIRTIO_BAR, addPciCfgCapability, addVirtioCapability, pciCfgWindow, setPciCfgData } from './pci_caps.js';
import { TsvmmError } from '../../base/errors.js';

export { VIRTIO_BAR };

export interface TransportHost {
  /** BAR `bar` now decodes at `gpa` (null: unmapped). Move the MMIO range and ioeventfds. */
  barMapped(bar: number, gpa: number | null): void;
  /** MSI-X vector `vector`'s message or mask changed. */
  msixRouteChanged(vector: number, route: MsixRoute): void;
  /** DRIVER_OK: queues in the shared state are configured; start serving them. */
  activate(): void;
  /** The driver wrote 0 to device_status: stop serving queues before returning. */
  reset(): void;
  /** A queue notification that did not go through an ioeventfd. */
  notify(queue: number): void;
}

export class VirtioTransportError extends TsvmmError {}

// Common-config fields: [offset, width]. 64-bit fields are two 32-bit halves.
const FIELDS: ReadonlyArray<readonly [number, number]> = [
  [C.DEVICE_FEATURE_SELECT, 4], [C.DEVICE_FEATURE, 4], [C.DRIVER_FEATURE_SELECT, 4], [C.DRIVER_FEATURE, 4],
  [C.CONFIG_MSIX_VECTOR, 2], [C.NUM_QUEUES, 2], [C.DEVICE_STATUS, 1], [C.CONFIG_GENERATION, 1],
  [C.QUEUE_SELECT, 2], [C.QUEUE_SIZE, 2], [C.QUEUE_MSIX_VECTOR, 2], [C.QUEUE_ENABLE, 2], [C.QUEUE_NOTIFY_OFF, 2],
  [C.QUEUE_DESC_LO, 4], [C.QUEUE_DESC_HI, 4], [C.QUEUE_DRIVER_LO, 4], [C.QUEUE_DRIVER_HI, 4],
  [C.QUEUE_DEVICE_LO, 4], [C.QUEUE_DEVICE_HI, 4], [C.QUEUE_NOTIFY_DATA, 2], [C.QUEUE_RESET, 2],
];
const FIELD_START = new Uint8Array(C.LENGTH);
const FIELD_WIDTH = new Uint8Array(C.LENGTH);
for (const [start, width] of FIELDS) {
  for (let i = 0; i < width; i++) FIELD_START[start + i] = start;
  FIELD_WIDTH[start] = width;
}

const QUEUE_ADDRESS_WORD: Readonly<Record<number, number>> = {
  [C.QUEUE_DESC_LO]: QUEUE_WORD.DESC_LO,
  [C.QUEUE_DESC_HI]: QUEUE_WORD.DESC_HI,
  [C.QUEUE_DRIVER_LO]: QUEUE_WORD.DRIVER_LO,
  [C.QUEUE_DRIVER_HI]: QUEUE_WORD.DRIVER_HI,
  [C.QUEUE_DEVICE_LO]: QUEUE_WORD.DEVICE_LO,
  [C.QUEUE_DEVICE_HI]: QUEUE_WORD.DEVICE_HI,
};

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

export class VirtioPciTransport implements PciFunction, BusDevice {
  readonly config: PciConfigSpace;
  readonly msix: Msix;
  /** Host copy of the queue count: never re-read from anything the guest can write. */
  readonly numQueues: number;
  private readonly offered: readonly [number, number];
  private readonly driverFeatures: [number, number] = [0, 0];
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private queueSelect = 0;
  private generation = 0;
  private pciCfgCap = 0;

  constructor(
    private readonly device: VirtioDevice,
    private readonly state: Int32Array,
    private readonly host: TransportHost,
  ) {
    const n = device.queueMaxSizes.length;
    if (n < 1 || n > VIRTIO_BAR.MAX_QUEUES) throw new VirtioTransportError(`virtio device with ${n} queues (1..${VIRTIO_BAR.MAX_QUEUES} supported)`);
    if (state.length < sharedStateWords(n)) throw new VirtioTransportError(`shared state has ${state.length} words, ${sharedStateWords(n)} needed`);
    if (device.configSize > VIRTIO_BAR.REGION) throw new VirtioTransportError(`device config of ${device.configSize} bytes does not fit`);
    for (const max of device.queueMaxSizes) {
      if (!isPowerOfTwo(max) || max > SPLIT.MAX_SIZE) throw new VirtioTransportError(`queue maximum size ${max} is not a power of two <= ${SPLIT.MAX_SIZE}`);
    }
    if ((device.features & featureBit(VIRTIO_F.VERSION_1)) === 0n) throw new VirtioTransportError('a modern virtio device must offer VIRTIO_F_VERSION_1');
    this.numQueues = n;
    this.offered = [Number(device.features & 0xffff_ffffn), Number((device.features >> 32n) & 0xffff_ffffn)];

    this.config = new PciConfigSpace({
      vendorId: VIRTIO_PCI.VENDOR_ID,
      deviceId: VIRTIO_PCI.DEVICE_ID_BASE + device.deviceType,
      classCode: device.pciClass,
      revision: VIRTIO_PCI.REVISION,
      subsystemVendorId: VIRTIO_PCI.VENDOR_ID,
      subsystemId: 0x40, // §4.1.2.1: non-transitional devices use 0x40 or higher
      interruptPin: PCI_INTERRUPT_PIN.INTA,
    });
    this.config.addBar(VIRTIO_BAR.INDEX, { size: VIRTIO_BAR.SIZE, kind: 'mem64' });
    this.config.onBarChange = (bar, gpa) => this.host.barMapped(bar, gpa);
    this.msix = new Msix(n + 1, { tableBar: 0, tableOffset: VIRTIO_BAR.MSIX_TABLE, pbaBar: 0, pbaOffset: VIRTIO_BAR.MSIX_PBA });
    this.msix.onChange = (vector, route) => {
      Atomics.store(this.state, SHARED.MSIX_ENABLED, this.msix.enabled ? 1 : 0);
      this.host.msixRouteChanged(vector, route);
    };
    this.msix.attach(this.config);
    addVirtioCapability(this.config, VIRTIO_PCI_CAP.COMMON_CFG, VIRTIO_BAR.COMMON, C.LENGTH);
    addVirtioCapability(this.config, VIRTIO_PCI_CAP.NOTIFY_CFG, VIRTIO_BAR.NOTIFY, VIRTIO_BAR.NOTIFY_MULTIPLIER * n, VIRTIO_BAR.NOTIFY_MULTIPLIER);
    addVirtioCapability(this.config, VIRTIO_PCI_CAP.ISR_CFG, VIRTIO_BAR.ISR, 1);
    if (device.configSize > 0) addVirtioCapability(this.config, VIRTIO_PCI_CAP.DEVICE_CFG, VIRTIO_BAR.DEVICE, device.configSize);
    this.addPciCfgCap();
    this.resetState();
  }

  /** BAR 0 offset of queue `q`'s notify address (for its ioeventfd). */
  notifyOffset(q: number): number {
    return VIRTIO_BAR.NOTIFY + VIRTIO_BAR.NOTIFY_MULTIPLIER * q;
  }

  /** The device configuration changed: the driver must re-read it (§2.5.1). Raise a config interrupt after. */
  configChanged(): void {
    this.generation = (this.generation + 1) & 0xff;
  }

  private addPciCfgCap(): void {
    this.pciCfgCap = addPciCfgCapability(this.config, (isWrite) => this.pciCfgAccess(isWrite));
  }

  private pciCfgAccess(isWrite: boolean): void {
    const access = pciCfgWindow(this.config, this.pciCfgCap);
    if (access === undefined) return;
    if (isWrite) this.write(access.offset, access.length, access.value);
    else setPciCfgData(this.config, this.pciCfgCap, this.read(access.offset, access.length));
  }

  // ---- PciFunction ----

  configRead(reg: number, size: number): number {
    return this.config.read(reg, size);
  }
  configWrite(reg: number, size: number, value: number): void {
    this.config.write(reg, size, value);
  }

  // ---- BAR 0 (BusDevice) ----

  read(offset: number, size: number): number {
    const region = offset - (offset % VIRTIO_BAR.REGION);
    const off = offset - region;
    switch (region) {
      case VIRTIO_BAR.COMMON:
        return off + size <= C.LENGTH ? this.readCommon(off, size) : 0;
      case VIRTIO_BAR.ISR:
        // Reading ISR clears it (§4.1.4.5); INTx is de-asserted by the host's resample.
        return off === 0 ? Atomics.exchange(this.state, SHARED.ISR, 0) & 0xff : 0;
      case VIRTIO_BAR.DEVICE:
        return off + size <= this.device.configSize ? this.device.readConfig(off, size) : 0;
      case VIRTIO_BAR.MSIX_TABLE:
      case VIRTIO_BAR.MSIX_TABLE + VIRTIO_BAR.REGION:
        return this.msix.readTable(offset - VIRTIO_BAR.MSIX_TABLE, size);
      case VIRTIO_BAR.MSIX_PBA:
        return this.msix.readPba(off, size);
      default:
        return 0;
    }
  }

  write(offset: number, size: number, value: number): void {
    const region = offset - (offset % VIRTIO_BAR.REGION);
    const off = offset - region;
    switch (region) {
      case VIRTIO_BAR.COMMON:
        if (off + size <= C.LENGTH) this.writeCommon(off, size, value);
        return;
      case VIRTIO_BAR.DEVICE:
        if (off + size <= this.device.configSize) this.device.writeConfig(off, size, value);
        return;
      case VIRTIO_BAR.NOTIFY: {
        const q = off / VIRTIO_BAR.NOTIFY_MULTIPLIER;
        if (Number.isInteger(q) && q < this.numQueues) this.host.notify(q);
        return;
      }
      case VIRTIO_BAR.MSIX_TABLE:
      case VIRTIO_BAR.MSIX_TABLE + VIRTIO_BAR.REGION:
        this.msix.writeTable(offset - VIRTIO_BAR.MSIX_TABLE, size, value);
        return;
      default:
        return; // ISR and PBA are read-only
    }
  }

  // ---- common configuration ----

  private get status(): number {
    return Atomics.load(this.state, SHARED.STATUS);
  }

  private selectedQueue(): number {
    return this.queueSelect < this.numQueues ? this.queueSelect : -1;
  }

  private field(start: number): number {
    const q = this.selectedQueue();
    switch (start) {
      case C.DEVICE_FEATURE_SELECT: return this.deviceFeatureSelect;
      case C.DEVICE_FEATURE: return this.offered[this.deviceFeatureSelect] ?? 0;
      case C.DRIVER_FEATURE_SELECT: return this.driverFeatureSelect;
      case C.DRIVER_FEATURE: return this.driverFeatures[this.driverFeatureSelect] ?? 0;
      case C.CONFIG_MSIX_VECTOR: return Atomics.load(this.state, SHARED.CONFIG_VECTOR);
      case C.NUM_QUEUES: return this.numQueues;
      case C.DEVICE_STATUS: return this.status;
      case C.CONFIG_GENERATION: return this.generation;
      case C.QUEUE_SELECT: return this.queueSelect;
      case C.QUEUE_NOTIFY_OFF: return q < 0 ? 0 : q;
      case C.QUEUE_NOTIFY_DATA:
      case C.QUEUE_RESET:
        return 0;
    }
    if (q < 0) return start === C.QUEUE_MSIX_VECTOR ? VIRTIO_PCI.NO_VECTOR : 0; // §4.1.4.3.1: unavailable queue reads size 0
    switch (start) {
      case C.QUEUE_SIZE: return Atomics.load(this.state, queueWord(q, QUEUE_WORD.SIZE));
      case C.QUEUE_MSIX_VECTOR: return Atomics.load(this.state, queueWord(q, QUEUE_WORD.VECTOR));
      case C.QUEUE_ENABLE: return Atomics.load(this.state, queueWord(q, QUEUE_WORD.ENABLED));
    }
    const word = QUEUE_ADDRESS_WORD[start];
    return word === undefined ? 0 : Atomics.load(this.state, queueWord(q, word)) >>> 0;
  }

  /** Any access width works for reads; each byte comes from its field. */
  private readCommon(off: number, size: number): number {
    let value = 0;
    for (let i = size - 1; i >= 0; i--) {
      const start = FIELD_START[off + i]!;
      value = value * 256 + ((this.field(start) >>> (8 * (off + i - start))) & 0xff);
    }
    return value;
  }

  /** Writes must hit a whole field (64-bit fields: one 32-bit half); others are dropped. */
  private writeCommon(off: number, size: number, value: number): void {
    if (FIELD_START[off] !== off || FIELD_WIDTH[off] !== size) return;
    const status = this.status;
    const q = this.selectedQueue();
    // Queue configuration is frozen once DRIVER_OK is set (no VIRTIO_F_RING_RESET).
    const queueWritable = q >= 0 && (status & S.DRIVER_OK) === 0 && Atomics.load(this.state, queueWord(q, QUEUE_WORD.ENABLED)) === 0;
    switch (off) {
      case C.DEVICE_FEATURE_SELECT: this.deviceFeatureSelect = value >>> 0; return;
      case C.DRIVER_FEATURE_SELECT: this.driverFeatureSelect = value >>> 0; return;
      case C.DRIVER_FEATURE:
        if ((status & S.DRIVER) !== 0 && (status & S.FEATURES_OK) === 0 && this.driverFeatureSelect < 2) this.driverFeatures[this.driverFeatureSelect] = value >>> 0;
        return;
      case C.CONFIG_MSIX_VECTOR: Atomics.store(this.state, SHARED.CONFIG_VECTOR, this.checkVector(value)); return;
      case C.DEVICE_STATUS: this.writeStatus(value & 0xff); return;
      case C.QUEUE_SELECT: this.queueSelect = value; return;
      case C.QUEUE_MSIX_VECTOR:
        if (q >= 0) Atomics.store(this.state, queueWord(q, QUEUE_WORD.VECTOR), this.checkVector(value));
        return;
      case C.QUEUE_SIZE:
        // The guest's size is honoured up to the device maximum; larger or zero sizes are ignored.
        if (queueWritable && value >= 1 && value <= this.device.queueMaxSizes[q]!) Atomics.store(this.state, queueWord(q, QUEUE_WORD.SIZE), value);
        return;
      case C.QUEUE_ENABLE:
        // Enabling needs FEATURES_OK: the ring layout depends on VIRTIO_F_RING_PACKED.
        if (queueWritable && value === 1 && (status & S.FEATURES_OK) !== 0) this.enableQueue(q);
        return;
    }
    const word = QUEUE_ADDRESS_WORD[off];
    if (word !== undefined && queueWritable) Atomics.store(this.state, queueWord(q, word), value | 0);
  }

  /** §4.1.4.3: a vector the device cannot use reads back as NO_VECTOR. */
  private checkVector(value: number): number {
    return value < this.msix.vectors ? value : VIRTIO_PCI.NO_VECTOR;
  }

  private enableQueue(q: number): void {
    const size = Atomics.load(this.state, queueWord(q, QUEUE_WORD.SIZE));
    const packed = (this.driverFeatures[1]! & (1 << (VIRTIO_F.RING_PACKED - 32))) !== 0;
    if (!packed && !isPowerOfTwo(size)) {
      // §2.7: a split queue's size is a power of two. Refuse, visibly.
      Atomics.or(this.state, SHARED.STATUS, S.DEVICE_NEEDS_RESET);
      return;
    }
    Atomics.store(this.state, queueWord(q, QUEUE_WORD.ENABLED), 1);
  }

  // §2.1, §3.1.1: the driver only adds bits, in order; 0 resets.
  private writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const current = this.status;
    const wanted = value & ~S.DEVICE_NEEDS_RESET; // device-owned bit
    if ((current & ~wanted & ~S.DEVICE_NEEDS_RESET) !== 0) return; // clearing bits is not allowed
    let added = wanted & ~current;
    const has = (bit: number) => ((current | added) & bit) !== 0;
    if ((added & S.DRIVER) !== 0 && !has(S.ACKNOWLEDGE)) added &= ~S.DRIVER;
    if ((added & S.FEATURES_OK) !== 0 && (!has(S.DRIVER) || !this.acceptFeatures())) added &= ~S.FEATURES_OK;
    if ((added & S.DRIVER_OK) !== 0 && !has(S.FEATURES_OK)) added &= ~S.DRIVER_OK;
    if (added === 0) return;
    Atomics.or(this.state, SHARED.STATUS, added);
    if ((added & S.DRIVER_OK) !== 0) {
      this.device.activate((BigInt(this.driverFeatures[1]!) << 32n) | BigInt(this.driverFeatures[0]!));
      this.host.activate();
    }
  }

  /** FEATURES_OK stays clear unless the driver took a subset of the offer including VERSION_1 (§3.1.1). */
  private acceptFeatures(): boolean {
    const [lo, hi] = this.driverFeatures;
    if ((lo & ~this.offered[0]) !== 0 || (hi & ~this.offered[1]) !== 0) return false;
    if ((hi & (1 << (VIRTIO_F.VERSION_1 - 32))) === 0) return false;
    Atomics.store(this.state, SHARED.FEATURES_LO, lo | 0);
    Atomics.store(this.state, SHARED.FEATURES_HI, hi | 0);
    return true;
  }

  private reset(): void {
    this.host.reset();
    this.device.reset();
    this.resetState();
  }

  private resetState(): void {
    const s = this.state;
    for (let i = 0; i < sharedStateWords(this.numQueues); i++) {
      if (i !== SHARED.RESET_EPOCH && i !== SHARED.MSIX_ENABLED) Atomics.store(s, i, 0);
    }
    Atomics.add(s, SHARED.RESET_EPOCH, 1);
    Atomics.store(s, SHARED.NUM_QUEUES, this.numQueues);
    Atomics.store(s, SHARED.CONFIG_VECTOR, VIRTIO_PCI.NO_VECTOR);
    for (let q = 0; q < this.numQueues; q++) {
      Atomics.store(s, queueWord(q, QUEUE_WORD.SIZE), this.device.queueMaxSizes[q]!);
      Atomics.store(s, queueWord(q, QUEUE_WORD.VECTOR), VIRTIO_PCI.NO_VECTOR);
    }
    this.driverFeatures[0] = 0;
    this.driverFeatures[1] = 0;
    this.deviceFeatureSelect = 0;
    this.driverFeatureSelect = 0;
    this.queueSelect = 0;
  }
}
