// What a device worker runs for each kind of virtio device: the device model
// (for the vCPU side's config space) and the queue-side runtime (for the
// device worker). Both are built from the same plain-data spec.
import type { GuestMemory } from '../memory/guest_memory.js';
import { POLL } from '../native/linux.js';
import type { InterruptSink, VirtioDevice } from '../devices/virtio/device.js';
import { createQueue, negotiatedFeatures } from '../devices/virtio/shared_state.js';
import { BlockDevice } from '../devices/virtio/block/device.js';
import { FileBackend } from '../devices/virtio/block/backend.js';
import { BlockQueueHandler } from '../devices/virtio/block/queue_handler.js';
import { NetDevice } from '../devices/virtio/net/device.js';
import { NetQueueHandler } from '../devices/virtio/net/queue_handler.js';
import { FdPacketIo } from '../devices/virtio/net/packet_io.js';
import { configureTap } from '../devices/virtio/net/tap.js';
import { VIRTIO_NET_QUEUE } from '../devices/virtio/net/constants.js';
import type { VirtioBackendSpec } from './virtio_spec.js';

export function createDeviceModel(b: VirtioBackendSpec, log: (line: string) => void): VirtioDevice {
  if (b.kind === 'blk') return new BlockDevice({ size: b.size, readOnly: b.readOnly, serial: b.serial, log });
  return new NetDevice({ mac: Uint8Array.from(b.mac) });
}

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

interface Ctx {
  memory: GuestMemory;
  state: Int32Array;
  sink: InterruptSink;
  numQueues: number;
  log: (line: string) => void;
}

function buildQueues(c: Ctx): ReturnType<typeof createQueue>[] {
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

class BlockRuntime implements QueueRuntime {
  private handlers: Array<BlockQueueHandler | null> = [];
  private readonly device: BlockDevice;
  private readonly backend: FileBackend;
  readonly busy = false;

  constructor(
    private readonly c: Ctx,
    b: Extract<VirtioBackendSpec, { kind: 'blk' }>,
  ) {
    this.device = new BlockDevice({ size: b.size, readOnly: b.readOnly, serial: b.serial, log: c.log });
    this.backend = new FileBackend(b.fd);
  }
  get active(): boolean {
    return this.handlers.length > 0;
  }
  activate(): void {
    const c = this.c;
    this.handlers = buildQueues(c).map((queue, q) => (queue === null ? null : new BlockQueueHandler(c.memory, queue, q, this.device, this.backend, c.state, c.sink, c.log)));
    for (const h of this.handlers) h?.process();
  }
  reset(): void {
    this.handlers = [];
  }
  kick(q: number): void {
    this.handlers[q]?.process();
  }
  extraPoll(): undefined {
    return undefined;
  }
  extraReady(): void {}
  resume(): void {}
}

class NetRuntime implements QueueRuntime {
  private handler: NetQueueHandler | null = null;
  private readonly io: FdPacketIo;

  constructor(
    private readonly c: Ctx,
    private readonly b: Extract<VirtioBackendSpec, { kind: 'net' }>,
  ) {
    this.io = new FdPacketIo(b.tapFd);
  }
  get active(): boolean {
    return this.handler !== null;
  }
  get busy(): boolean {
    return this.handler?.busy ?? false;
  }
  activate(): void {
    const c = this.c;
    const features = negotiatedFeatures(c.state);
    configureTap(this.b.tapFd, features);
    const [rx, tx] = buildQueues(c);
    this.handler = new NetQueueHandler(c.memory, rx ?? null, tx ?? null, this.io, features, c.state, c.sink, c.log);
    this.handler.processTx();
    this.handler.processRx();
  }
  reset(): void {
    this.handler = null;
  }
  kick(q: number): void {
    if (q === VIRTIO_NET_QUEUE.RX) this.handler?.processRx();
    else if (q === VIRTIO_NET_QUEUE.TX) this.handler?.processTx();
  }
  extraPoll(): { fd: number; events: number } | undefined {
    return this.handler === null ? undefined : { fd: this.b.tapFd, events: this.handler.tapEvents() };
  }
  resume(): void {
    this.handler?.processTx();
  }
  extraReady(revents: number): void {
    const h = this.handler;
    if (h === null) return;
    if (revents & POLL.IN) h.processRx();
    if (revents & POLL.OUT) h.processTx();
    if (revents & (POLL.ERR | POLL.HUP | POLL.NVAL)) this.c.log('virtio-net: the TAP device went away');
  }
}

export function createQueueRuntime(b: VirtioBackendSpec, c: Ctx): QueueRuntime {
  return b.kind === 'blk' ? new BlockRuntime(c, b) : new NetRuntime(c, b);
}
