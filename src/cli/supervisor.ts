// The supervising parent process. It owns the user's terminal: it saves the
// terminal settings, switches to raw mode when the VMM child asks for it, and
// restores the saved settings however the child ends (guest poweroff, Ctrl-A x,
// an error, a signal, or a seccomp kill with SIGSYS that leaves the child no
// chance to clean up). It never installs the seccomp filter itself.
//
// The child talks to it over the IPC channel: {raw: true} when the guest is
// about to run. tsvmm's own lines do not pass through here: the child writes
// them itself to its fd 4 (TSVMM_LOG_FD), which is this process's stderr or
// the --log file, so that they can be kept off the guest's partial console
// lines (console/log_writer.ts). The child's stderr (Node's own messages, if
// any) still passes through here and gets "\r\n" while the terminal is raw.
//
// This process's own lines (after the VMM died: a seccomp kill, a signal)
// go to the same place. It cannot know where the guest's output stopped, so
// when the console shares that file and the guest had run, they start with a
// line break of their own (after an empty line, if the guest's had ended).
import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { isatty } from 'node:tty';
import { fileURLToPath } from 'node:url';
import { getTermios, makeRaw, setTermios } from './termios.js';
import { LogFileError, openLogFile, sameFile } from './log_file.js';

const CHILD = fileURLToPath(new URL('./vmm_child.js', import.meta.url));
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** The child's fd for tsvmm's lines: after stdin, stdout, stderr and the IPC channel. */
const CHILD_LOG_FD = 4;

export function seccompKillMessage(): string {
  return (
    'the seccomp filter killed the VMM (SIGSYS): it made a system call outside the allowlist. ' +
    "Rerun with --seccomp=log and look for 'type=1326' / 'syscall=' lines in `dmesg` or /var/log/audit/audit.log to find it."
  );
}

/**
 * The VMM process's environment: the user's, plus how to find this
 * supervisor, and UV_USE_IO_URING=0 whatever the user's says: libuv would
 * otherwise make io_uring rings at start-up (the default on Node 20.3-20.11,
 * or UV_USE_IO_URING=1 on later ones), whose I/O bypasses the seccomp filter
 * and whose io_uring_enter the filter kills (sandbox/io_uring.ts).
 */
export function vmmChildEnv(env: NodeJS.ProcessEnv, supervisorPid: number): NodeJS.ProcessEnv {
  return { ...env, TSVMM_SUPERVISED: '1', TSVMM_SUPERVISOR_PID: String(supervisorPid), TSVMM_LOG_FD: String(CHILD_LOG_FD), UV_USE_IO_URING: '0' };
}

/** Runs the VMM in a child process and returns the exit code to use. `logFile`: --log FILE. */
export function supervise(argv: readonly string[], logFile?: string): Promise<number> {
  let logFd = 2;
  if (logFile !== undefined) {
    try {
      logFd = openLogFile(logFile);
    } catch (err) {
      if (!(err instanceof LogFileError)) throw err;
      process.stderr.write(`tsvmm: ${err.message}\n`);
      return Promise.resolve(1);
    }
  }
  let guestRan = false;
  const say = (line: string): void => {
    const fresh = guestRan && sameFile(1, logFd) ? '\n' : '';
    try {
      writeSync(logFd, `${fresh}tsvmm: ${line}\n`);
    } catch {
      // Nowhere left to say it (the terminal or file is gone).
    }
  };
  const stdinIsTty = isatty(0);
  let saved: Buffer | undefined;
  if (stdinIsTty) {
    try {
      saved = getTermios(0);
    } catch {
      saved = undefined;
    }
  }
  let raw = false;
  const restore = (): void => {
    if (saved !== undefined && raw) {
      try {
        setTermios(0, saved);
      } catch {
        // The terminal is gone (SIGHUP); nothing left to restore.
      }
    }
    raw = false;
  };

  const child = spawn(process.execPath, [CHILD, ...argv], {
    stdio: ['inherit', 'inherit', 'pipe', 'ipc', logFd],
    env: vmmChildEnv(process.env, process.pid),
  });

  child.on('message', (msg: unknown) => {
    if (typeof msg !== 'object' || msg === null || (msg as { raw?: unknown }).raw !== true) return;
    guestRan = true;
    if (saved !== undefined && !raw) {
      setTermios(0, makeRaw(saved));
      raw = true;
    }
  });

  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    process.stderr.write(raw ? text.replace(/\r?\n/g, '\r\n') : text);
  });

  const forward = (sig: NodeJS.Signals): void => {
    child.kill(sig);
  };
  for (const sig of FORWARDED_SIGNALS) process.on(sig, forward);

  return new Promise((resolve) => {
    const finish = (code: number, signal: NodeJS.Signals | null): void => {
      restore();
      for (const sig of FORWARDED_SIGNALS) process.off(sig, forward);
      if (signal === 'SIGSYS') {
        say(seccompKillMessage());
        resolve(128 + osConstants.signals.SIGSYS);
      } else if (signal !== null) {
        if (!FORWARDED_SIGNALS.includes(signal as (typeof FORWARDED_SIGNALS)[number])) {
          say(`the VMM process died of ${signal}`);
        }
        resolve(128 + (osConstants.signals[signal] ?? 0));
      } else {
        resolve(code);
      }
    };
    child.on('error', (err) => {
      restore();
      say(`cannot start the VMM process: ${err.message}`);
      resolve(1);
    });
    // 'close' waits for stderr to drain, so the child's last line is printed.
    child.on('close', (code, signal) => finish(code ?? 1, signal));
  });
}
