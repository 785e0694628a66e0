// The kinds of virtio device tsvmm has, by name: how many queues each has
// (the main thread creates one kick eventfd per queue) and the module with
// its model and runtime, loaded only by threads of a VM that has one (every
// worker compiles what it imports at start-up).
import type { VirtioKind } from './runtime.js';
import type { VirtioBackendSpec, VirtioKindName } from './spec.js';
import { VIRTIO_BLK_QUEUE } from './block/constants.js';
import { VIRTIO_NET_QUEUE } from './net/constants.js';

export const VIRTIO_KINDS = {
  blk: { queues: VIRTIO_BLK_QUEUE.COUNT, load: async () => (await import('./block/runtime.js')).blk, model: async () => (await import('./block/model.js')).blkModel },
  net: { queues: VIRTIO_NET_QUEUE.COUNT, load: async () => (await import('./net/runtime.js')).net, model: async () => (await import('./net/model.js')).netModel },
} as const satisfies Record<VirtioKindName, { queues: number; load(): Promise<unknown>; model(): Promise<unknown> }>;

/** The module of one kind of device: config model and queue runtime (the device worker). */
export async function loadVirtioKind(kind: VirtioKindName): Promise<VirtioKind<VirtioBackendSpec>> {
  return (await VIRTIO_KINDS[kind].load()) as VirtioKind<VirtioBackendSpec>;
}

/** Only the config model of one kind (the vCPU side: it never runs queues). */
export async function loadVirtioModel(kind: VirtioKindName): Promise<VirtioKind<VirtioBackendSpec>['createDeviceModel']> {
  return (await VIRTIO_KINDS[kind].model()) as VirtioKind<VirtioBackendSpec>['createDeviceModel'];
}
