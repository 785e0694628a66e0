// The supervising parent process (run.ts). It owns the user's terminal: it saves the
// terminal settings, switches to raw mode when the guest is about to run,
// and restores the saved settings however the VM ends (guest poweroff,
// Ctrl-A x, an error, a signal, or a seccomp kill with SIGSYS that leaves the
// VMM no chance to clean up). It never installs the VMM's seccomp filter
// itself. The VMM runs in a child process (api/process.ts, the library's own
// way of running a VM) with the terminal as its console; its lines for the
// user pass through here so that they get "\r\n" while the terminal is raw.
import { constants as osConstants } from 'node:os';
import { isatty } from 'node:tty';
import { VmProcess, type VmExit } from '../api/process.js';
import { getTermios, makeRaw, setTermios } from './termios.js';

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export function seccompKillMessage(): string {
  return (
    'tsvmm: the seccomp filter killed the VMM (SIGSYS): it made a system call outside the allowlist. ' +
    "Rerun with --seccomp=log and look for 'type=1326' / 'syscall=' lines in `dmesg` or /var/log/audit/audit.log to find it."
  );
}

/** The user's terminal: saved at start, raw while the guest runs, restored at the end. */
export class Terminal {
  private readonly saved: Buffer | undefined;
  private raw = false;

  constructor() {
    let saved: Buffer | undefined;
    if (isatty(0)) {
      try {
        saved = getTermios(0);
      } catch {
        saved = undefined;
      }
    }
    this.saved = saved;
  }

  makeRaw(): void {
    if (this.saved === undefined || this.raw) return;
    setTermios(0, makeRaw(this.saved));
    this.raw = true;
  }

  restore(): void {
    if (this.saved !== undefined && this.raw) {
      try {
        setTermios(0, this.saved);
      } catch {
        // The terminal is gone (SIGHUP); nothing left to restore.
      }
    }
    this.raw = false;
  }

  /** One line for the user on stderr ("\r\n" while raw). */
  say(line: string): void {
    process.stderr.write(`${line}${this.raw ? '\r\n' : '\n'}`);
  }
}

/** Runs a VMM process with the terminal as its console until the VM ends; wires its log, state and the user's signals. */
export function attachTerminal(vm: VmProcess, term: Terminal): () => void {
  vm.on('log', (line) => term.say(`tsvmm: ${line}`));
  vm.on('state', (s) => {
    if (s === 'running') term.makeRaw();
  });
  const forward = (sig: NodeJS.Signals): void => {
    vm.child.kill(sig);
  };
  for (const sig of FORWARDED_SIGNALS) process.on(sig, forward);
  return () => {
    for (const sig of FORWARDED_SIGNALS) process.off(sig, forward);
  };
}

/** The CLI's exit code for how the VMM ended; says why when a signal killed it. */
export function exitCodeOf(e: VmExit, term: Terminal): number {
  if (e.signal === 'SIGSYS') {
    term.say(seccompKillMessage());
    return 128 + osConstants.signals.SIGSYS;
  }
  if (e.signal !== null) {
    if (!FORWARDED_SIGNALS.includes(e.signal as (typeof FORWARDED_SIGNALS)[number])) term.say(`tsvmm: the VMM process died of ${e.signal}`);
    return 128 + (osConstants.signals[e.signal] ?? 0);
  }
  return e.code ?? 1;
}
