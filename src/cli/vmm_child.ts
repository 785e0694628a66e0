// The VMM process, started by the supervisor (src/cli/supervisor.ts). Errors
// end here as one line on stderr and a non-zero exit code.
import { parseArgs } from './args.js';
import { runVmm } from '../vmm/vmm.js';
import { ConfigError } from '../vmm/config.js';
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

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed.kind !== 'run') return 2; // the supervisor answers help/version itself
  return runVmm(parsed.config, {
    log: (line) => process.stderr.write(`tsvmm: ${line}\n`),
    guestStarting: () => process.send?.({ raw: true }),
    consoleInput: process.stdin,
    consoleEscapes: true,
    consoleOutFd: 1,
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
    process.stderr.write(`tsvmm: ${err instanceof Error ? err.message : String(err)}\n`);
    // A configuration this host cannot run is a usage error, as a bad argument is.
    native.exitGroup(err instanceof ConfigError ? 2 : 1);
  },
);
