// The state the virtio-pci transport (vCPU thread) shares with the device's
// queue worker thread: one Int32Array, over a SharedArrayBuffer in production
// (a plain ArrayBuffer in single-threaded tests), with this word layout.
//
//   word  meaning                         written by
//   0     device_status (§2.1)            transport; worker ORs DEVICE_NEEDS_RESET
//   1     ISR bits (§4.1.4.5)             worker ORs; transport read-and-clears
//   2,3   negotiated features lo, hi      transport at FEATURES_OK
//   4     config_msix_vector              transport
//   5     MSI-X enabled (0/1)             transport
//   6     reset epoch (bumped per reset)  transport
//   7     number of queues                transport (host copy, never guest memory)
//   8+    per queue, QUEUE_STRIDE words:  transport, before DRIVER_OK
//         size, enabled, msix vector, desc lo/hi, driver lo/hi, device lo/hi
//
// Ordering: every access uses Atomics. The worker reads queue words only
// after TransportHost.activate() was called (DRIVER_OK), which the host turns
// into a write to the worker's control eventfd (pci_host.ts), so it sees them
// complete.
import { VIRTIO_F, VIRTIO_ISR, VIRTIO_PCI, VIRTIO_STATUS } from './constants.js';
import type { InterruptSink } from './device.js';
import type { QueueLayout } from './queue.js';

export const SHARED = {
  STATUS: 0,
  ISR: 1,
  FEATURES_LO: 2,
  FEATURES_HI: 3,
  CONFIG_VECTOR: 4,
  MSIX_ENABLED: 5,
  RESET_EPOCH: 6,
  NUM_QUEUES: 7,
  QUEUE_BASE: 8,
  QUEUE_STRIDE: 9,
} as const;

export const QUEUE_WORD = {
  SIZE: 0,
  ENABLED: 1,
  VECTOR: 2,
  DESC_LO: 3,
  DESC_HI: 4,
  DRIVER_LO: 5,
  DRIVER_HI: 6,
  DEVICE_LO: 7,
  DEVICE_HI: 8,
} as const;

export function sharedStateWords(numQueues: number): number {
  return SHARED.QUEUE_BASE + SHARED.QUEUE_STRIDE * numQueues;
}

/** Allocates shared state for `numQueues` queues (shared: a SharedArrayBuffer). */
export function createSharedState(numQueues: number, shared = true): Int32Array {
  const bytes = 4 * sharedStateWords(numQueues);
  return new Int32Array(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** Index of queue `q`'s word `w`. */
export function queueWord(q: number, w: number): number {
  return SHARED.QUEUE_BASE + SHARED.QUEUE_STRIDE * q + w;
}

function load64(state: Int32Array, lo: number): number {
  return (Atomics.load(state, lo + 1) >>> 0) * 0x1_0000_0000 + (Atomics.load(state, lo) >>> 0);
}

export interface QueueConfig extends QueueLayout {
  readonly enabled: boolean;
  readonly vector: number;
}

export function readQueueConfig(state: Int32Array, q: number): QueueConfig {
  return {
    size: Atomics.load(state, queueWord(q, QUEUE_WORD.SIZE)),
    enabled: Atomics.load(state, queueWord(q, QUEUE_WORD.ENABLED)) !== 0,
    vector: Atomics.load(state, queueWord(q, QUEUE_WORD.VECTOR)),
    desc: load64(state, queueWord(q, QUEUE_WORD.DESC_LO)),
    driver: load64(state, queueWord(q, QUEUE_WORD.DRIVER_LO)),
    device: load64(state, queueWord(q, QUEUE_WORD.DEVICE_LO)),
  };
}

/** Whether feature `bit` was negotiated. */
export function hasFeature(state: Int32Array, bit: number): boolean {
  const word = Atomics.load(state, bit < 32 ? SHARED.FEATURES_LO : SHARED.FEATURES_HI);
  return ((word >>> (bit % 32)) & 1) === 1;
}

export function negotiatedFeatures(state: Int32Array): bigint {
  return (BigInt(Atomics.load(state, SHARED.FEATURES_HI) >>> 0) << 32n) | BigInt(Atomics.load(state, SHARED.FEATURES_LO) >>> 0);
}

/** The current MSI-X vector of queue `q` (it may change while the device runs). */
export function queueVector(state: Int32Array, q: number): number {
  return Atomics.load(state, queueWord(q, QUEUE_WORD.VECTOR));
}

/** The queue side found the device unusable: set DEVICE_NEEDS_RESET and tell the driver (§2.1.2). */
export function markNeedsReset(state: Int32Array, sink: InterruptSink): void {
  const before = Atomics.or(state, SHARED.STATUS, VIRTIO_STATUS.DEVICE_NEEDS_RESET);
  if ((before & VIRTIO_STATUS.DEVICE_NEEDS_RESET) === 0 && (before & VIRTIO_STATUS.DRIVER_OK) !== 0) sink.config();
}

/** How interrupts physically reach the guest (irqfd writes in production). */
export interface InterruptLines {
  msi(vector: number): void;
  intx(): void;
}

/** Picks MSI-X or INTx + ISR from the shared state (§4.1.5.3, §4.1.5.4). */
export class SharedInterrupts implements InterruptSink {
  constructor(
    private readonly state: Int32Array,
    private readonly lines: InterruptLines,
  ) {}

  queue(vector: number): void {
    if (Atomics.load(this.state, SHARED.MSIX_ENABLED) !== 0) {
      if (vector !== VIRTIO_PCI.NO_VECTOR) this.lines.msi(vector);
      return;
    }
    Atomics.or(this.state, SHARED.ISR, VIRTIO_ISR.QUEUE);
    this.lines.intx();
  }

  config(): void {
    // The config bit is set in ISR before any configuration notification (§4.1.4.5.1).
    Atomics.or(this.state, SHARED.ISR, VIRTIO_ISR.CONFIG);
    if (Atomics.load(this.state, SHARED.MSIX_ENABLED) !== 0) {
      const vector = Atomics.load(this.state, SHARED.CONFIG_VECTOR);
      if (vector !== VIRTIO_PCI.NO_VECTOR) this.lines.msi(vector);
      return;
    }
    this.lines.intx();
  }
}
