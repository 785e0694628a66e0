// What a device worker runs for each kind of virtio device: the device model
// (for the vCPU side's config space) and the queue-side runtime (for the
// device worker). Both are built from the same plain-data spec. Each kind
// lives in a module of its own (virtio_blk_runtime.ts, virtio_net_runtime.ts),
// loaded only by the threads of a VMM that has such a device: every worker
// compiles what it imports at start-up.
import type { GuestMemory } from '../memory/guest_memory.js';
import type { InterruptSink, VirtioDevice } from '../devices/virtio/device.js';
import { createQueue } from '../devices/virtio/shared_state.js';
import type { VirtioBackendSpec } from './virtio_spec.js';

/** The queue side of one device, driven by the device worker's poll loop. */
export interface QueueRuntime {
  /** DRIVER_OK: build the queues from the shared state. */
  activate(): void;
  /** The driver reset the device: drop the queues. */
  reset(): void;
  readonly active: boolean;
  /** Queue `q`'s ioeventfd fired. */
  kick(q: number): void;
  /** A backend fd to poll, with the events wanted now (0: leave it out). */
  extraPoll(): { fd: number; events: number } | undefined;
  extraReady(revents: number): void;
  /** Work is left that no fd will announce: poll with timeout 0, then call resume(). */
  readonly busy: boolean;
  resume(): void;
}

export interface Ctx {
  memory: GuestMemory;
  state: Int32Array;
  sink: InterruptSink;
  numQueues: number;
  log: (line: string) => void;
}

export function buildQueues(c: Ctx): ReturnType<typeof createQueue>[] {
  const queues = [];
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

/** One kind of virtio device: its model and its queue runtime, from its spec. */
export interface VirtioKind<S extends VirtioBackendSpec = VirtioBackendSpec> {
  createDeviceModel(b: S, log: (line: string) => void): VirtioDevice;
  createQueueRuntime(b: S, c: Ctx): QueueRuntime;
}

/** The module of one kind of device. */
export async function loadVirtioKind(kind: VirtioBackendSpec['kind']): Promise<VirtioKind> {
  const k = kind === 'blk' ? (await import('./virtio_blk_runtime.js')).blk : (await import('./virtio_net_runtime.js')).net;
  return k as VirtioKind;
}
