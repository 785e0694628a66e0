// The queue side of a virtio device, as its worker (worker.ts) drives it:
// the QueueRuntime interface every kind implements (block/runtime.ts,
// net/runtime.ts), the context a runtime gets, and the helper that builds
// the queues the driver configured. kinds.ts maps kind names to modules.
import type { GuestMemory } from '../../memory/guest_memory.js';
import type { InterruptSink, VirtioDevice } from './device.js';
import type { Virtqueue } from './queue.js';
import { hasFeature, negotiatedFeatures, readQueueConfig } from './shared_state.js';
import { VIRTIO_F } from './constants.js';
import { PackedQueue } from './queue_packed.js';
import { SplitQueue } from './queue_split.js';

export type { VirtioDevice };

/** The queue side of one device, driven by the device worker's poll loop. */
export interface QueueRuntime {
  /** DRIVER_OK: build the queues from the shared state. */
  activate(): void;
  /** The driver reset the device: drop the queues. */
  reset(): void;
  readonly active: boolean;
  /** Queue `q`'s ioeventfd fired. */
  kick(q: number): void;
  /** The backend's fd (a TAP), or -1. */
  readonly backendFd: number;
  /** poll(2) events to wait for on backendFd now (POLL.IN, POLL.OUT); 0: leave it out of poll. */
  backendEvents(): number;
  /** The backend fd became readable or writable, or failed (error: POLLERR/HUP/NVAL). */
  backendReady(readable: boolean, writable: boolean, error: boolean): void;
  /** Work is left that no fd will announce: poll with timeout 0, then call resume(). */
  readonly busy: boolean;
  resume(): void;
}

/** What a runtime gets from its worker. */
export interface QueueContext {
  /** Guest RAM as mapped on the worker's thread. */
  readonly memory: GuestMemory;
  /** The transport's shared words (shared_state.ts). */
  readonly state: Int32Array;
  readonly sink: InterruptSink;
  readonly numQueues: number;
  /** One line for the user; the worker rate-limits nothing, so callers do. */
  readonly log: (line: string) => void;
  /** The device's counters (metrics.ts DEVICE_METRIC slots); the runtime fills its kind's. */
  readonly counters: Float64Array;
}

/** What a runtime may take besides its backend spec: seams for the warm-up (warmup.ts). */
export interface RuntimeOptions {
  /** Applies negotiated features to a TAP (net; default tap.ts configureTap). The warm-up's socket is no TAP. */
  readonly configureTap?: (fd: number, features: bigint) => void;
}

/** The features the driver accepted (valid from DRIVER_OK on). */
export function negotiated(c: QueueContext): bigint {
  return negotiatedFeatures(c.state);
}

// (Here, not in shared_state.ts: only the device workers build queues; the
// vCPU side and the VMM's main thread load the shared words without them.)
/**
 * Builds queue `q` as the driver configured it: packed or split by
 * VIRTIO_F_RING_PACKED. Throws QueueConfigError for rings outside RAM, or
 * returns null when the queue is not enabled.
 */
export function createQueue(mem: GuestMemory, state: Int32Array, q: number): Virtqueue | null {
  const config = readQueueConfig(state, q);
  if (!config.enabled) return null;
  const features = { eventIdx: hasFeature(state, VIRTIO_F.RING_EVENT_IDX), indirect: hasFeature(state, VIRTIO_F.INDIRECT_DESC) };
  return hasFeature(state, VIRTIO_F.RING_PACKED) ? new PackedQueue(mem, config, features) : new SplitQueue(mem, config, features);
}

/** Builds each queue the driver enabled (null for the others, and for one it placed badly: logged). */
export function buildQueues(c: QueueContext): Array<Virtqueue | null> {
  const queues: Array<Virtqueue | null> = [];
  for (let q = 0; q < c.numQueues; q++) {
    try {
      queues.push(createQueue(c.memory, c.state, q));
    } catch (err) {
      c.log(`virtio: queue ${q}: ${(err as Error).message}`);
      queues.push(null);
    }
  }
  return queues;
}

/** One kind of virtio device: its config model (vCPU side) and its queue runtime (worker side), from its spec. */
export interface VirtioKind<S> {
  createDeviceModel(spec: S, log: (line: string) => void): VirtioDevice;
  createQueueRuntime(spec: S, c: QueueContext, options?: RuntimeOptions): QueueRuntime;
}
