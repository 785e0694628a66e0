// virtio-net's config model and queue runtime (see ../runtime.ts).
import { buildQueues, negotiated, type QueueContext, type QueueRuntime, type RuntimeOptions, type VirtioKind } from '../runtime.js';
import { POLL } from '../../../native/linux.js';
import { VIRTIO_NET_QUEUE } from './constants.js';
import { netModel } from './model.js';
import { FdPacketIo } from './packet_io.js';
import { NetQueueHandler } from './queue_handler.js';
import type { NetBackendSpec } from './spec.js';
import { DEVICE_METRIC } from '../metrics.js';
import { configureTap } from './tap.js';

class NetRuntime implements QueueRuntime {
  private handler: NetQueueHandler | null = null;
  private readonly io: FdPacketIo;
  private readonly configure: (fd: number, features: bigint) => void;
  readonly backendFd: number;
  private tapGone = false;
  /** Counts of the handlers dropped at earlier resets (a new handler counts from 0). */
  private readonly before = new Float64Array(7);

  constructor(
    private readonly c: QueueContext,
    private readonly b: NetBackendSpec,
    options: RuntimeOptions = {},
  ) {
    this.io = new FdPacketIo(b.tapFd);
    this.backendFd = b.tapFd;
    this.configure = options.configureTap ?? configureTap;
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
    this.configure(this.b.tapFd, features);
    const [rx, tx] = buildQueues(c);
    this.handler = new NetQueueHandler(c.memory, rx ?? null, tx ?? null, this.io, features, c.state, c.sink, c.log);
    this.handler.processTx();
    this.handler.processRx();
  }
  reset(): void {
    this.publish(true);
    this.handler = null;
  }
  kick(q: number): void {
    if (q === VIRTIO_NET_QUEUE.RX) this.handler?.processRx();
    else if (q === VIRTIO_NET_QUEUE.TX) this.handler?.processTx();
    this.publish();
  }
  backendEvents(): number {
    const h = this.handler;
    if (h === null || this.tapGone) return 0;
    return (h.wantsFrames ? POLL.IN : 0) | (h.wantsRoom ? POLL.OUT : 0);
  }
  resume(): void {
    this.handler?.resume();
    this.publish();
  }
  backendReady(readable: boolean, writable: boolean, error: boolean): void {
    const h = this.handler;
    if (h === null) return;
    if (readable) h.processRx();
    if (writable) h.processTx();
    this.publish();
    if (error && !this.tapGone) {
      // Said once: polling it again would only report the same error.
      this.tapGone = true;
      this.c.log(`virtio-net: the TAP device ${this.b.tapName} went away`);
    }
  }

  /**
   * Copies the handler's counts, on top of those of handlers dropped at
   * earlier resets, into the shared counters: a few stores per batch, no
   * allocation. `settle` also folds them into that base (before a reset).
   */
  private publish(settle = false): void {
    const rx = this.handler?.rx?.stats;
    const tx = this.handler?.tx?.stats;
    const c = this.c.counters;
    const b = this.before;
    c[DEVICE_METRIC.RX_FRAMES] = b[0]! + (rx?.frames ?? 0);
    c[DEVICE_METRIC.RX_BYTES] = b[1]! + (rx?.bytes ?? 0);
    c[DEVICE_METRIC.RX_DROPPED] = b[2]! + (rx?.dropped ?? 0);
    c[DEVICE_METRIC.TX_FRAMES] = b[3]! + (tx?.frames ?? 0);
    c[DEVICE_METRIC.TX_BYTES] = b[4]! + (tx?.bytes ?? 0);
    c[DEVICE_METRIC.TX_DROPPED] = b[5]! + (tx?.dropped ?? 0);
    c[DEVICE_METRIC.ERRORS] = b[6]! + (rx?.badChains ?? 0);
    if (settle) {
      b[0] = c[DEVICE_METRIC.RX_FRAMES]!;
      b[1] = c[DEVICE_METRIC.RX_BYTES]!;
      b[2] = c[DEVICE_METRIC.RX_DROPPED]!;
      b[3] = c[DEVICE_METRIC.TX_FRAMES]!;
      b[4] = c[DEVICE_METRIC.TX_BYTES]!;
      b[5] = c[DEVICE_METRIC.TX_DROPPED]!;
      b[6] = c[DEVICE_METRIC.ERRORS]!;
    }
  }
}

export const net: VirtioKind<NetBackendSpec> = {
  createDeviceModel: netModel,
  createQueueRuntime: (b, c, options) => new NetRuntime(c, b, options),
};
