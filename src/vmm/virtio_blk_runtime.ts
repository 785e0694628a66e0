// virtio-blk's model and queue runtime (see virtio_runtime.ts).
import { BlockDevice } from '../devices/virtio/block/device.js';
import { FileBackend } from '../devices/virtio/block/backend.js';
import { BlockQueueHandler } from '../devices/virtio/block/queue_handler.js';
import { buildQueues, type Ctx, type QueueRuntime, type VirtioKind } from './virtio_runtime.js';
import type { BlockBackendSpec } from './virtio_spec.js';

class BlockRuntime implements QueueRuntime {
  private handlers: Array<BlockQueueHandler | null> = [];
  private readonly device: BlockDevice;
  private readonly backend: FileBackend;
  readonly busy = false;

  constructor(
    private readonly c: Ctx,
    b: BlockBackendSpec,
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

export const blk: VirtioKind<BlockBackendSpec> = {
  createDeviceModel: (b, log) => new BlockDevice({ size: b.size, readOnly: b.readOnly, serial: b.serial, log }),
  createQueueRuntime: (b, c) => new BlockRuntime(c, b),
};
