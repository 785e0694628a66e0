// The supervising parent process (run.ts). It owns the user's terminal: it saves the
// terminal settings, switches to raw mode when the guest is about to run,
// and restores the saved settings however the VM ends (guest poweroff,
// Ctrl-A x, an error, a signal, or a seccomp kill with SIGSYS that leaves the
// VMM no chance to clean up). It never installs the VMM's seccomp filter
// itself. The VMM runs in a child process (api/process.ts, the library's own
// way of running a VM) with the terminal as its console.
//
// tsvmm's own lines do not pass through here: the VMM writes them itself to
// its fd 4, which is this process's stderr or the --log file, so that they
// are kept off the guest's partial console lines (console/log_writer.ts).
// The VMM's stderr (Node's own messages, if any) still passes through here
// and gets "\r\n" while the terminal is raw. This process's own lines
// (after the VMM died: a seccomp kill, a signal) go to the same place as the
// VMM's; it cannot know where the guest's output stopped, so when the
// console shares that file and the guest had run, they start with a line
// break of their own (an empty line, if the guest's had ended).
import { writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { isatty } from 'node:tty';
import { VmProcess, type VmExit } from '../api/process.js';
import { sameFile } from '../console/log_file.js';
import { getTermios, makeRaw, setTermios } from './termios.js';

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export function seccompKillMessage(): string {
  return (
    'the seccomp filter killed the VMM (SIGSYS): it made a system call outside the allowlist. ' +
    "Rerun with --seccomp=log and look for 'type=1326' / 'syscall=' lines in `dmesg` or /var/log/audit/audit.log to find it."
  );
}

/** The user's terminal: saved at start, raw while the guest runs, restored at the end. */
export class Terminal {
  private readonly saved: Buffer | undefined;
  private raw = false;
  private guestRan = false;

  /** `logFd`: where tsvmm's lines go (stderr, or the --log file). */
  constructor(readonly logFd = 2) {
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
    this.guestRan = true;
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

  /** One of tsvmm's lines, on a fresh line of the console when it shares the log's file ("\r\n" while raw). */
  say(line: string): void {
    const eol = this.raw ? '\r\n' : '\n';
    const fresh = this.guestRan && sameFile(1, this.logFd) ? eol : '';
    try {
      writeSync(this.logFd, `${fresh}tsvmm: ${line}${eol}`);
    } catch {
      // Nowhere left to say it (the terminal or file is gone).
    }
  }

  /** Text from the VMM's stderr (Node's own messages), with "\r\n" while raw. */
  relay(text: string): void {
    process.stderr.write(this.raw ? text.replace(/\r?\n/g, '\r\n') : text);
  }
}

/** Runs a VMM process with the terminal as its console until the VM ends; wires its log, state and the user's signals. */
export function attachTerminal(vm: VmProcess, term: Terminal): () => void {
  vm.on('stderr', (text) => term.relay(text));
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
    if (!FORWARDED_SIGNALS.includes(e.signal as (typeof FORWARDED_SIGNALS)[number])) term.say(`the VMM process died of ${e.signal}`);
    return 128 + (osConstants.signals[e.signal] ?? 0);
  }
  return e.code ?? 1;
}
