// virtio-net's model and queue runtime (see virtio_runtime.ts).
import { POLL } from '../native/linux.js';
import { negotiatedFeatures } from '../devices/virtio/shared_state.js';
import { NetDevice } from '../devices/virtio/net/device.js';
import { NetQueueHandler } from '../devices/virtio/net/queue_handler.js';
import { FdPacketIo } from '../devices/virtio/net/packet_io.js';
import { configureTap } from '../devices/virtio/net/tap.js';
import { VIRTIO_NET_QUEUE } from '../devices/virtio/net/constants.js';
import { buildQueues, type Ctx, type QueueRuntime, type VirtioKind } from './virtio_runtime.js';
import type { NetBackendSpec } from './virtio_spec.js';

class NetRuntime implements QueueRuntime {
  private handler: NetQueueHandler | null = null;
  private readonly io: FdPacketIo;

  constructor(
    private readonly c: Ctx,
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

export const net: VirtioKind<NetBackendSpec> = {
  createDeviceModel: (b) => new NetDevice({ mac: Uint8Array.from(b.mac) }),
  createQueueRuntime: (b, c) => new NetRuntime(c, b),
};
