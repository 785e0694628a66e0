// The VMM process, started by the supervisor (src/cli/supervisor.ts). Errors
// end here as one line and a non-zero exit code. tsvmm's own lines go to the
// fd the supervisor passes in TSVMM_LOG_FD (its stderr, or the --log file),
// written from here directly so that they can be kept off the guest's
// partial console lines (console/log_writer.ts); started by hand, to the
// --log file or stderr.
import { isatty } from 'node:tty';
import { parseArgs } from './args.js';
import { openLogFile, sameFile } from './log_file.js';
import { ConsoleLine } from '../console/line_state.js';
import { LogWriter } from '../console/log_writer.js';
import { runVmm } from '../vmm/vmm.js';
import { native } from '../native/addon.js';
import { PR } from '../sandbox/constants.js';
import { constants as osConstants } from 'node:os';

/**
 * The VMM must not outlive its supervisor: if the supervisor is killed with
 * SIGKILL it cannot forward anything, and an orphaned VMM would keep the
 * guest running and the terminal's output open. The kernel sends us SIGKILL
 * when the parent dies; a parent that died before this call is caught by the
 * ppid check.
 */
function dieWithSupervisor(): void {
  const expected = Number(process.env['TSVMM_SUPERVISOR_PID']);
  if (!Number.isInteger(expected) || expected <= 0) return; // started by hand, not by the supervisor
  native.prctl(PR.SET_PDEATHSIG, osConstants.signals.SIGKILL, 0, 0, 0);
  if (process.ppid !== expected) native.exitGroup(1);
}

dieWithSupervisor();

/** The guest's console: written by the vCPU thread to fd 1. */
const CONSOLE_FD = 1;

/** Where tsvmm's lines go, as a writer; until it exists (or if it cannot), stderr. */
let writer = new LogWriter({ fd: 2, crlf: isatty(2) });

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed.kind !== 'run') return 2; // the supervisor answers help/version itself
  const passed = Number(process.env['TSVMM_LOG_FD']);
  const fd = Number.isInteger(passed) && passed > 2 ? passed : parsed.logFile !== undefined ? openLogFile(parsed.logFile) : 2;
  const line = sameFile(CONSOLE_FD, fd) ? new ConsoleLine() : undefined;
  writer = new LogWriter({ fd, crlf: isatty(fd), console: line });
  return runVmm(parsed.config, {
    log: (l) => writer.write(l),
    guestStarting: () => process.send?.({ raw: true }),
    consoleInput: process.stdin,
    consoleEscapes: true,
    consoleOutFd: CONSOLE_FD,
    consoleLine: line?.buffer,
  });
}

main().then(
  (code) => {
    // exit_group, not process.exit: Node's exit joins worker threads, and the
    // vCPU thread may sit in KVM_RUN and device threads in poll() forever.
    // (stderr is a pipe or a terminal: Node writes both synchronously.)
    native.exitGroup(code);
  },
  (err: unknown) => {
    writer.write(err instanceof Error ? err.message : String(err));
    native.exitGroup(1);
  },
);
