// virtio-blk's queue runtime (see ../runtime.ts): one queue handler per
// queue over the executor and the file backend; the config model is model.ts.
import { buildQueues, type QueueContext, type QueueRuntime, type VirtioKind } from '../runtime.js';
import { FileBackend } from './backend.js';
import { BlockExecutor } from './executor.js';
import { BlockQueueHandler } from './queue_handler.js';
import type { BlockBackendSpec } from './spec.js';
import { blkModel } from './model.js';

class BlockRuntime implements QueueRuntime {
  private handlers: Array<BlockQueueHandler | null> = [];
  private readonly executor: BlockExecutor;
  private readonly backend: FileBackend;

  constructor(
    private readonly c: QueueContext,
    b: BlockBackendSpec,
  ) {
    this.executor = new BlockExecutor({ size: b.size, readOnly: b.readOnly, serial: b.serial, log: c.log });
    this.backend = new FileBackend(b.fd);
  }
  /** A queue stopped at its budget with requests left. */
  get busy(): boolean {
    for (const h of this.handlers) if (h !== null && h.more) return true;
    return false;
  }
  get active(): boolean {
    return this.handlers.length > 0;
  }
  activate(): void {
    const c = this.c;
    this.handlers = buildQueues(c).map((queue, q) => (queue === null ? null : new BlockQueueHandler(c.memory, queue, q, this.executor, this.backend, c.state, c.sink, c.log, c.counters)));
    for (const h of this.handlers) h?.process();
  }
  reset(): void {
    this.handlers = [];
  }
  kick(q: number): void {
    this.handlers[q]?.process();
  }
  readonly backendFd = -1;
  backendEvents(): number {
    return 0;
  }
  backendReady(): void {}
  resume(): void {
    for (const h of this.handlers) if (h !== null && h.more) h.process();
  }
}

export const blk: VirtioKind<BlockBackendSpec> = {
  createDeviceModel: blkModel,
  createQueueRuntime: (b, c) => new BlockRuntime(c, b),
};
