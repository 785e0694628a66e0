// Phase 4: the running VM's life, as one object. It starts the guest once
// every thread is ready (console input first, then the seal, then the
// vCPUs), pauses and resumes it, and ends it exactly once, with one exit
// code, whoever asks first: the guest (power-off, reset, a fatal exit), a
// device, a failed thread, or the user (Ctrl-A x, the library's stop()).
// Ending stops every vCPU thread (kicked out of KVM_RUN) before the exit code
// is handed back.
import type { GuestStop } from '../arch/arch.js';
import { ConsoleInput } from '../console/input.js';
import type { VmmHost } from './host.js';
import type { Machine } from './machine.js';
import type { VmThreads } from './workers.js';

export type VmState = 'starting' | 'running' | 'paused' | 'stopped';

/** How long the vCPU threads get to leave KVM_RUN and acknowledge a pause or a stop. */
const VCPU_ACK_TIMEOUT_MS = 2000;

export class VmLifecycle {
  private current: VmState = 'starting';
  private console: ConsoleInput | undefined;
  private threads: VmThreads | undefined;
  private resolveExit!: (code: number) => void;
  /** The VMM's exit code, once the VM has ended and its vCPU threads have stopped. */
  readonly exited: Promise<number> = new Promise((resolve) => (this.resolveExit = resolve));

  constructor(private readonly host: VmmHost) {}

  get state(): VmState {
    return this.current;
  }

  /** The VM's threads, as soon as they exist (a stop before start() stops them too). */
  attach(threads: VmThreads): void {
    this.threads = threads;
  }

  /** Runs the guest: console input, the seal (if any), the terminal, the vCPUs. */
  start(machine: Machine, seal: (() => void) | undefined): void {
    const threads = this.threads;
    if (this.current !== 'starting' || threads === undefined) return;
    // Input is opened before the seal: libuv may reopen a terminal (openat).
    this.console = new ConsoleInput({
      source: this.host.consoleInput,
      ring: machine.consoleRing,
      flags: new Int32Array(machine.consoleFlags),
      kick: machine.consoleKick,
      escapes: this.host.consoleEscapes,
      quit: () => this.stop({ code: 0, reason: 'quit from the console (Ctrl-A x)' }),
      log: (line) => this.host.log(line),
    });
    try {
      seal?.();
    } catch (err) {
      this.stop({ code: 1, reason: err instanceof Error ? err.message : String(err) });
      return;
    }
    this.current = 'running';
    this.host.guestStarting();
    threads.go();
  }

  /** Holds every vCPU and device queue; false when the VM is not running or did not hold in time. */
  async pause(): Promise<boolean> {
    if (this.current !== 'running' || this.threads === undefined) return false;
    this.current = 'paused';
    const held = await this.threads.pause(VCPU_ACK_TIMEOUT_MS);
    if (!held) this.host.log(`pause: not every vCPU and device queue held within ${VCPU_ACK_TIMEOUT_MS} ms`);
    return held;
  }

  resume(): boolean {
    if (this.current !== 'paused' || this.threads === undefined) return false;
    this.current = 'running';
    this.threads.resume();
    return true;
  }

  /** Ends the VM with `stop` (the first call wins); a non-zero code's reason is logged. */
  stop(stop: GuestStop): void {
    if (this.current === 'stopped') return;
    const wasRunning = this.current !== 'starting';
    this.current = 'stopped';
    this.console?.stop();
    if (stop.code !== 0) this.host.log(stop.reason);
    const threads = this.threads;
    if (threads === undefined) {
      this.resolveExit(stop.code);
      return;
    }
    void threads.stop(VCPU_ACK_TIMEOUT_MS).then((laggards) => {
      if (wasRunning && laggards.length > 0) this.host.log(`vCPU ${laggards.join(', ')} did not stop within ${VCPU_ACK_TIMEOUT_MS} ms`);
      this.resolveExit(stop.code);
    });
  }
}
