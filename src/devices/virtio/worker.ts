// A virtio device's worker thread: it blocks in poll() on the queues'
// ioeventfds (the guest's kicks, signalled inside KVM without a VM exit), its
// control eventfd (activate, reset and pause from other threads), the INTx
// resample fd and the backend's own fd (a TAP), serves the queues through its
// kind's QueueRuntime, and interrupts the guest through irqfds.
import { parentPort, workerData } from 'node:worker_threads';
import { drainEventfd, signalEventfd } from '../../native/eventfd.js';
import { native } from '../../native/addon.js';
import { POLL } from '../../native/linux.js';
import { GuestMemory, type GuestMemoryDescriptor } from '../../memory/guest_memory.js';
import { SharedInterrupts, SHARED } from './shared_state.js';
import { VIRTIO_STATUS } from './constants.js';
import { CONTROL_WORD, type VirtioDeviceSpec } from './spec.js';
import { loadVirtioKind } from './kinds.js';
import type { QueueRuntime } from './runtime.js';
import { DEVICE_METRIC } from './metrics.js';
import { createWorkerLog } from '../worker_log.js';

export interface DeviceWorkerData {
  memory: GuestMemoryDescriptor;
  spec: VirtioDeviceSpec;
  /** The bounded log channel's words (../worker_log.ts); the main thread holds the other end. */
  log: SharedArrayBuffer;
}

/** What a device worker tells the thread that started it. */
export type DeviceWorkerMessage = { kind: 'ready' } | { kind: 'log'; line: string };

const POLLFD_SIZE = 8;
const ERROR_EVENTS = POLL.ERR | POLL.HUP | POLL.NVAL;

/** struct pollfd[] for: the control fd, one kick per queue, the INTx resample fd, the backend fd. */
class PollSet {
  readonly buf: Buffer;
  readonly resample: number;
  readonly backend: number;
  constructor(private readonly fds: readonly number[]) {
    this.buf = Buffer.alloc((fds.length + 1) * POLLFD_SIZE);
    this.resample = fds.length - 1;
    this.backend = fds.length;
    this.listen(true);
    this.set(this.backend, -1, 0);
  }
  set(i: number, fd: number, events: number): void {
    this.buf.writeInt32LE(fd, i * POLLFD_SIZE);
    this.buf.writeInt16LE(events, i * POLLFD_SIZE + 4);
  }
  /** Polls every fd (or, paused, only the control fd at index 0). */
  listen(all: boolean): void {
    this.fds.forEach((fd, i) => this.set(i, i === 0 || all ? fd : -1, POLL.IN));
  }
  revents(i: number): number {
    return this.buf.readInt16LE(i * POLLFD_SIZE + 6);
  }
}

function serve(spec: VirtioDeviceSpec, runtime: QueueRuntime, state: Int32Array, sink: SharedInterrupts, counters: Float64Array, log: (line: string) => void): never {
  const control = new Int32Array(spec.control);
  const polls = new PollSet([spec.controlFd, ...spec.kickFds, spec.intxResampleFd]);
  let lastReset = Atomics.load(control, CONTROL_WORD.RESET_REQUEST);
  let paused = false;

  parentPort?.postMessage({ kind: 'ready' } satisfies DeviceWorkerMessage);
  for (;;) {
    const backend = paused ? undefined : runtime.backendPoll();
    polls.set(polls.backend, backend?.fd ?? -1, backend === undefined ? 0 : (backend.read ? POLL.IN : 0) | (backend.write ? POLL.OUT : 0));
    native.poll(polls.buf, runtime.busy && !paused ? 0 : -1);
    if (polls.revents(0) & POLL.IN && drainEventfd(spec.controlFd)) {
      const req = Atomics.load(control, CONTROL_WORD.RESET_REQUEST);
      const resetNow = req !== lastReset;
      if (resetNow) {
        lastReset = req;
        runtime.reset();
        Atomics.store(control, CONTROL_WORD.RESET_ACK, req);
        Atomics.notify(control, CONTROL_WORD.RESET_ACK);
      }
      const pause = Atomics.load(control, CONTROL_WORD.PAUSE) !== 0;
      if (pause !== paused) {
        // Paused: kicks and frames wait in their fds; nothing touches guest memory.
        paused = pause;
        polls.listen(!paused);
        Atomics.store(control, CONTROL_WORD.PAUSE_ACK, paused ? 1 : 0);
        Atomics.notify(control, CONTROL_WORD.PAUSE_ACK);
      }
      // Not in the round that handled a reset: the transport clears the shared
      // state only after our acknowledgement, so DRIVER_OK may still read as
      // set. A new DRIVER_OK writes the control fd again, after the ack.
      if (!resetNow && !paused && !runtime.active && (Atomics.load(state, SHARED.STATUS) & VIRTIO_STATUS.DRIVER_OK) !== 0) {
        try {
          runtime.activate();
        } catch (err) {
          log(`virtio device in slot ${spec.slot}: cannot activate: ${(err as Error).message}`);
          Atomics.or(state, SHARED.STATUS, VIRTIO_STATUS.DEVICE_NEEDS_RESET);
          sink.config();
        }
      }
    }
    if (paused) continue;
    for (let q = 0; q < spec.kickFds.length; q++) {
      if (polls.revents(q + 1) & POLL.IN && drainEventfd(spec.kickFds[q]!)) {
        counters[DEVICE_METRIC.KICKS]!++;
        runtime.kick(q);
      }
    }
    if (polls.revents(polls.resample) & POLL.IN && drainEventfd(spec.intxResampleFd)) {
      // The guest EOId the level-triggered INTx line: assert it again while ISR is still set.
      if (Atomics.load(state, SHARED.ISR) !== 0) signalEventfd(spec.intxFd);
    }
    const ready = backend === undefined ? 0 : polls.revents(polls.backend);
    if (ready !== 0) runtime.backendReady((ready & POLL.IN) !== 0, (ready & POLL.OUT) !== 0, (ready & ERROR_EVENTS) !== 0);
    else if (runtime.busy) runtime.resume();
  }
}

/** MSI-X or INTx, as the transport's shared state says, through the device's irqfds; each one counted. */
function sinkFor(spec: VirtioDeviceSpec, state: Int32Array, counters: Float64Array): SharedInterrupts {
  return new SharedInterrupts(state, {
    msi: (vector) => {
      const fd = spec.msiFds[vector];
      if (fd === undefined) return;
      counters[DEVICE_METRIC.INTERRUPTS]!++;
      signalEventfd(fd);
    },
    intx: () => {
      counters[DEVICE_METRIC.INTERRUPTS]!++;
      signalEventfd(spec.intxFd);
    },
  });
}

if (parentPort) {
  const d = workerData as DeviceWorkerData;
  const kind = await loadVirtioKind(d.spec.backend.kind);
  // Everything this worker logs comes from serving the guest: rate-limited, and bounded on its way out.
  const log = createWorkerLog(d.log, (line) => parentPort!.postMessage({ kind: 'log', line } satisfies DeviceWorkerMessage));
  const state = new Int32Array(d.spec.state);
  const memory = GuestMemory.map(d.memory);
  const counters = new Float64Array(d.spec.counters);
  const sink = sinkFor(d.spec, state, counters);
  const runtime = kind.createQueueRuntime(d.spec.backend, { memory, state, sink, numQueues: d.spec.numQueues, log, counters });
  serve(d.spec, runtime, state, sink, counters, log);
}
