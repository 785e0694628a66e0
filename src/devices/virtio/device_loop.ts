// One virtio device's event loop, as its worker thread (worker.ts) runs it:
// poll() on the queues' ioeventfds (the guest's kicks, signalled inside KVM
// without a VM exit), the control eventfd (activate, reset and pause from
// other threads), the INTx resample fd and the backend's own fd (a TAP),
// then serve what woke it through the kind's QueueRuntime. One round per
// wake-up; nothing is allocated per round.
//
// The same class runs the warm-up (warmup.ts) over synthetic fds and memory
// before the device serves the guest, so the code the guest's first kick
// runs is already compiled.
import { drainEventfd, signalEventfd } from '../../native/eventfd.js';
import { native } from '../../native/addon.js';
import { POLL } from '../../native/linux.js';
import { SHARED, SharedInterrupts } from './shared_state.js';
import { VIRTIO_STATUS } from './constants.js';
import { CONTROL_WORD } from './spec.js';
import type { QueueRuntime } from './runtime.js';
import { DEVICE_METRIC } from './metrics.js';

/** The fds and control words a loop serves (a VirtioDeviceSpec has them). */
export interface LoopFds {
  readonly slot: number;
  readonly control: SharedArrayBuffer;
  readonly controlFd: number;
  readonly kickFds: readonly number[];
  readonly intxFd: number;
  readonly intxResampleFd: number;
}

const POLLFD_SIZE = 8;
const ERROR_EVENTS = POLL.ERR | POLL.HUP | POLL.NVAL;

/** struct pollfd[] for: the control fd, one kick per queue, the INTx resample fd, the backend fd. */
class PollSet {
  readonly buf: Buffer;
  readonly view: DataView;
  readonly resample: number;
  readonly backend: number;
  constructor(private readonly fds: readonly number[]) {
    this.buf = Buffer.alloc((fds.length + 1) * POLLFD_SIZE);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.resample = fds.length - 1;
    this.backend = fds.length;
    this.listen(true);
    this.set(this.backend, -1, 0);
  }
  set(i: number, fd: number, events: number): void {
    this.view.setInt32(i * POLLFD_SIZE, fd, true);
    this.view.setInt16(i * POLLFD_SIZE + 4, events, true);
  }
  /** Polls every fd (or, paused, only the control fd at index 0). */
  listen(all: boolean): void {
    for (let i = 0; i < this.fds.length; i++) this.set(i, i === 0 || all ? this.fds[i]! : -1, POLL.IN);
  }
  revents(i: number): number {
    return this.view.getInt16(i * POLLFD_SIZE + 6, true);
  }
}

/**
 * MSI-X or INTx, as the transport's shared state says, through the device's
 * irqfds; each one counted. (The closures see plain copies of the fds, so the
 * warm-up's and the device's sinks run the same code on the same shapes.)
 */
export function irqfdSink(fds: { readonly msiFds: readonly number[]; readonly intxFd: number }, state: Int32Array, counters: Float64Array): SharedInterrupts {
  const msiFds = Int32Array.from(fds.msiFds);
  const intxFd = fds.intxFd;
  return new SharedInterrupts(state, {
    msi: (vector) => {
      if (vector >= msiFds.length) return;
      counters[DEVICE_METRIC.INTERRUPTS]!++;
      signalEventfd(msiFds[vector]!);
    },
    intx: () => {
      counters[DEVICE_METRIC.INTERRUPTS]!++;
      signalEventfd(intxFd);
    },
  });
}

export class DeviceLoop {
  private readonly control: Int32Array;
  private readonly polls: PollSet;
  private readonly slot: number;
  private readonly controlFd: number;
  private readonly kickFds: Int32Array;
  private readonly intxFd: number;
  private readonly resampleFd: number;
  private lastReset: number;
  private paused = false;

  constructor(
    fds: LoopFds,
    private readonly runtime: QueueRuntime,
    private readonly state: Int32Array,
    private readonly sink: { config(): void },
    private readonly counters: Float64Array,
    private readonly log: (line: string) => void,
  ) {
    // Plain copies: the loop's shapes do not depend on the spec object it was given.
    this.slot = fds.slot;
    this.controlFd = fds.controlFd;
    this.kickFds = Int32Array.from(fds.kickFds);
    this.intxFd = fds.intxFd;
    this.resampleFd = fds.intxResampleFd;
    this.control = new Int32Array(fds.control);
    this.polls = new PollSet([fds.controlFd, ...fds.kickFds, fds.intxResampleFd]);
    this.lastReset = Atomics.load(this.control, CONTROL_WORD.RESET_REQUEST);
  }

  /**
   * Waits for something to do (not at all while the runtime is busy, or
   * with `block` false) and does it. Returns false when it served nothing
   * of the guest's (nothing was ready, or the device is paused).
   */
  round(block = true): boolean {
    const { runtime, polls, control, state } = this;
    const events = this.paused ? 0 : runtime.backendEvents();
    polls.set(polls.backend, events === 0 ? -1 : runtime.backendFd, events);
    const busy = runtime.busy && !this.paused;
    if (native.poll(polls.buf, block && !busy ? -1 : 0) === 0 && !busy) return false;
    if (polls.revents(0) & POLL.IN && drainEventfd(this.controlFd)) {
      const req = Atomics.load(control, CONTROL_WORD.RESET_REQUEST);
      const resetNow = req !== this.lastReset;
      if (resetNow) {
        this.lastReset = req;
        runtime.reset();
        Atomics.store(control, CONTROL_WORD.RESET_ACK, req);
        Atomics.notify(control, CONTROL_WORD.RESET_ACK);
      }
      const pause = Atomics.load(control, CONTROL_WORD.PAUSE) !== 0;
      if (pause !== this.paused) {
        // Paused: kicks and frames wait in their fds; nothing touches guest memory.
        this.paused = pause;
        polls.listen(!pause);
        Atomics.store(control, CONTROL_WORD.PAUSE_ACK, pause ? 1 : 0);
        Atomics.notify(control, CONTROL_WORD.PAUSE_ACK);
      }
      // Not in the round that handled a reset: the transport clears the shared
      // state only after our acknowledgement, so DRIVER_OK may still read as
      // set. A new DRIVER_OK writes the control fd again, after the ack.
      if (!resetNow && !this.paused && !runtime.active && (Atomics.load(state, SHARED.STATUS) & VIRTIO_STATUS.DRIVER_OK) !== 0) {
        try {
          runtime.activate();
        } catch (err) {
          this.log(`virtio device in slot ${this.slot}: cannot activate: ${(err as Error).message}`);
          Atomics.or(state, SHARED.STATUS, VIRTIO_STATUS.DEVICE_NEEDS_RESET);
          this.sink.config();
        }
      }
    }
    if (this.paused) return false;
    const kicks = this.kickFds;
    for (let q = 0; q < kicks.length; q++) {
      if (polls.revents(q + 1) & POLL.IN && drainEventfd(kicks[q]!)) {
        this.counters[DEVICE_METRIC.KICKS]!++;
        runtime.kick(q);
      }
    }
    if (polls.revents(polls.resample) & POLL.IN && drainEventfd(this.resampleFd)) {
      // The guest EOId the level-triggered INTx line: assert it again while ISR is still set.
      if (Atomics.load(state, SHARED.ISR) !== 0) signalEventfd(this.intxFd);
    }
    const ready = events === 0 ? 0 : polls.revents(polls.backend);
    if (ready !== 0) runtime.backendReady((ready & POLL.IN) !== 0, (ready & POLL.OUT) !== 0, (ready & ERROR_EVENTS) !== 0);
    else if (runtime.busy) runtime.resume();
    return true;
  }
}
