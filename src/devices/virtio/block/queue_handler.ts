// The worker-thread loop body for virtio-blk: after a kick (the queue's
// ioeventfd became readable), drain the queue: pop, parse, execute, return,
// then interrupt the driver if it asked. Pure apart from the backend, so it
// runs in tests against the driver mock.
//
// Malformed chains complete with length 0 and the device carries on; a
// broken ring (VirtqueueError) sets DEVICE_NEEDS_RESET with a configuration
// interrupt and stops serving the queue until the driver resets the device.
import type { GuestMemory } from '../../../memory/guest_memory.js';
import type { InterruptSink } from '../device.js';
import { DescriptorChain, DescriptorChainError, VirtqueueError, type Virtqueue } from '../queue.js';
import { markNeedsReset, queueVector } from '../shared_state.js';
import type { BlockBackend } from './backend.js';
import type { BlockExecutor } from './executor.js';
import { BlockRequest } from './request.js';
import { IoTable } from '../../../memory/io_table.js';
import { VIRTIO_BLK_S } from './constants.js';
import { DEVICE_METRIC, DEVICE_METRIC_SLOTS } from '../metrics.js';
import { RateLog } from '../rate_log.js';

export class BlockQueueHandler {
  private readonly chain = new DescriptorChain();
  /** Reused for every request: parsing and executing allocate nothing. */
  private readonly request = new BlockRequest();
  private readonly table: IoTable;
  private broken = false;
  private budgetHit = false;
  /** Malformed chains and requests, rate-limited in the log (a guest can send them at will). */
  private readonly badChains: RateLog;
  private readonly badRequests: RateLog;

  constructor(
    private readonly mem: GuestMemory,
    private readonly queue: Virtqueue,
    private readonly queueIndex: number,
    private readonly executor: BlockExecutor,
    private readonly backend: BlockBackend,
    private readonly state: Int32Array,
    private readonly sink: InterruptSink,
    private readonly log: (line: string) => void = (line) => console.error(line),
    /** The device's counters (../metrics.ts), or a scratch array. */
    private readonly counters: Float64Array = new Float64Array(DEVICE_METRIC_SLOTS),
  ) {
    this.badChains = new RateLog(log);
    this.badRequests = new RateLog(log);
    this.table = new IoTable(mem, executor.limits.segMax + 2, 1);
  }

  /** True once the ring was found unusable (until the device is reset and rebuilt). */
  get failed(): boolean {
    return this.broken;
  }

  /** One completed request in the counters: its kind and bytes, or an error by its status byte. */
  private count(request: BlockRequest): void {
    const c = this.counters;
    if (request.kind === 'error' || this.mem.readU8(request.status!) !== VIRTIO_BLK_S.OK) {
      c[DEVICE_METRIC.ERRORS]!++;
      return;
    }
    switch (request.kind) {
      case 'in':
        c[DEVICE_METRIC.READS]!++;
        c[DEVICE_METRIC.READ_BYTES]! += request.bytes;
        break;
      case 'out':
        c[DEVICE_METRIC.WRITES]!++;
        c[DEVICE_METRIC.WRITE_BYTES]! += request.bytes;
        break;
      case 'flush':
        c[DEVICE_METRIC.FLUSHES]!++;
        break;
      default:
        c[DEVICE_METRIC.OTHER]!++;
    }
  }

  /** The last call stopped at its budget with requests left: call process() again soon. */
  get more(): boolean {
    return this.budgetHit;
  }

  /**
   * Serves available requests until the ring is empty or `budget` chains or
   * buffers were taken (O(queue size) work per call; `more` then says to
   * call again). Returns how many completed.
   */
  process(budget: number = this.queue.size): number {
    this.budgetHit = false;
    if (this.broken) return 0;
    const { mem, queue, chain } = this;
    let completed = 0;
    let buffers = 0;
    try {
      do {
        queue.disableNotifications();
        for (;;) {
          if (completed >= budget || buffers >= budget) {
            this.budgetHit = true;
            break;
          }
          try {
            if (!queue.pop(chain)) break;
          } catch (err) {
            if (!(err instanceof DescriptorChainError)) throw err;
            this.badChains.event(`virtio-blk: ${err.message}`);
            queue.addUsed(chain, 0);
            completed++;
            buffers += chain.count + 1;
            continue;
          }
          buffers += chain.count;
          const request = this.request.parse(mem, chain, this.executor.limits);
          if (request.kind === 'error') this.badRequests.event(`virtio-blk: bad request: ${request.reason}`);
          queue.addUsed(chain, this.executor.execute(mem, request, this.backend, this.table));
          this.count(request);
          completed++;
        }
      } while (!this.budgetHit && queue.enableNotifications());
    } catch (err) {
      if (!(err instanceof VirtqueueError)) throw err;
      this.log(`virtio-blk: queue ${this.queueIndex} unusable, device needs reset: ${err.message}`);
      this.broken = true;
      markNeedsReset(this.state, this.sink);
    }
    if (completed > 0 && queue.needsInterrupt()) this.sink.queue(queueVector(this.state, this.queueIndex));
    return completed;
  }
}
