// Phase 4: the running VM's life, as one object. It starts the guest once
// every thread is ready (console input first, then the seal, then the
// vCPUs), and ends it exactly once, with one exit code, whoever asks first:
// the guest (power-off, reset, a fatal exit), a failed thread, or the user
// (Ctrl-A x).
import type { GuestStop } from '../arch/arch.js';
import { ConsoleInput } from '../console/input.js';
import type { Machine } from './machine.js';
import type { VmmHost } from './host.js';
import type { VmWorkers } from './workers.js';

export type VmState = 'starting' | 'running' | 'stopped';

export class VmLifecycle {
  private current: VmState = 'starting';
  private console: ConsoleInput | undefined;
  private resolveExit!: (code: number) => void;
  /** The VMM's exit code, once the VM has ended. */
  readonly exited: Promise<number> = new Promise((resolve) => (this.resolveExit = resolve));

  constructor(private readonly host: VmmHost) {}

  get state(): VmState {
    return this.current;
  }

  /** Runs the guest: console input, the seal (if any), the terminal, the vCPUs. */
  start(machine: Machine, workers: VmWorkers, seal: (() => void) | undefined): void {
    if (this.current !== 'starting') return;
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
    workers.go();
  }

  /** Ends the VM with `stop` (the first call wins); a non-zero code's reason is logged. */
  stop(stop: GuestStop): void {
    if (this.current === 'stopped') return;
    this.current = 'stopped';
    this.console?.stop();
    if (stop.code !== 0) this.host.log(stop.reason);
    this.resolveExit(stop.code);
  }
}
