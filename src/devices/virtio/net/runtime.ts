// virtio-net's config model and queue runtime (see ../runtime.ts).
import { buildQueues, negotiated, type BackendPoll, type QueueContext, type QueueRuntime, type VirtioKind } from '../runtime.js';
import { VIRTIO_NET_QUEUE } from './constants.js';
import { NetDevice } from './device.js';
import { FdPacketIo } from './packet_io.js';
import { NetQueueHandler } from './queue_handler.js';
import type { NetBackendSpec } from './spec.js';
import { configureTap } from './tap.js';

class NetRuntime implements QueueRuntime {
  private handler: NetQueueHandler | null = null;
  private readonly io: FdPacketIo;
  private tapGone = false;

  constructor(
    private readonly c: QueueContext,
    private readonly b: NetBackendSpec,
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
    const features = negotiated(c);
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
  backendPoll(): BackendPoll | undefined {
    const h = this.handler;
    if (h === null || this.tapGone) return undefined;
    const read = h.wantsFrames;
    const write = h.wantsRoom;
    return read || write ? { fd: this.b.tapFd, read, write } : undefined;
  }
  resume(): void {
    this.handler?.processTx();
  }
  backendReady(readable: boolean, writable: boolean, error: boolean): void {
    const h = this.handler;
    if (h === null) return;
    if (readable) h.processRx();
    if (writable) h.processTx();
    if (error && !this.tapGone) {
      // Said once: polling it again would only report the same error.
      this.tapGone = true;
      this.c.log(`virtio-net: the TAP device ${this.b.tapName} went away`);
    }
  }
}

export const net: VirtioKind<NetBackendSpec> = {
  createDeviceModel: (b) => new NetDevice({ mac: Uint8Array.from(b.mac) }),
  createQueueRuntime: (b, c) => new NetRuntime(c, b),
};
