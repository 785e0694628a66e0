// The VMM process. Started by the library (api/process.ts; the CLI is one of
// its users) with an IPC channel: it waits for its VmConfig, builds and runs
// the VM, answers pause/resume/stop/metrics requests, and ends with one exit
// code. Its lines for the user ("tsvmm: ...") go to the fd its parent names
// in TSVMM_LOG_FD (the CLI's stderr or --log file, or a pipe the library
// reads), written from here directly so that they are kept off the guest's
// partial console lines (console/log_writer.ts); a failure is one such line
// and a non-zero exit (2 for a configuration this host cannot run).
import { constants as osConstants } from 'node:os';
import { isatty } from 'node:tty';
import { ConsoleLine } from '../console/line_state.js';
import { sameFile } from '../console/log_file.js';
import { LogWriter } from '../console/log_writer.js';
import { native } from '../native/addon.js';
import { PR } from '../sandbox/constants.js';
import { ConfigError } from './config.js';
import { isToVmm, type FromVmm, type ToVmm } from './ipc.js';
import { LOG_FD_ENV, PARENT_PID_ENV } from './main_env.js';
import { startVmm, type VmHandle } from './vmm.js';
import { prestartVcpuWorker } from './workers.js';
import { startupLoaded, startupMark } from '../native/startup_trace.js';

startupLoaded('vmm');


/**
 * If the parent is killed with SIGKILL it cannot stop us, and an orphaned VMM
 * would keep the guest running and the terminal's output open. The kernel
 * sends us SIGKILL when the parent dies; a parent that died before this
 * call is caught by the ppid check.
 */
function dieWithParent(): void {
  const expected = Number(process.env[PARENT_PID_ENV]);
  if (!Number.isInteger(expected) || expected <= 0) return; // started by hand
  native.prctl(PR.SET_PDEATHSIG, osConstants.signals.SIGKILL, 0, 0, 0);
  if (process.ppid !== expected) native.exitGroup(1);
}

/** The guest's console: written by the vCPU thread to fd 1. */
const CONSOLE_FD = 1;
const passed = Number(process.env[LOG_FD_ENV]);
const LOG_FD = Number.isInteger(passed) && passed > 2 ? passed : 2;
/** When the log and the console reach the same file: the cursor state both write under. */
const consoleLine = sameFile(CONSOLE_FD, LOG_FD) ? new ConsoleLine() : undefined;
const writer = new LogWriter({ fd: LOG_FD, crlf: isatty(LOG_FD), console: consoleLine });
const log = (line: string): void => writer.write(line);

/**
 * exit_group, not process.exit: Node's exit joins worker threads, and a
 * device thread may sit in poll() forever. The last message goes out first
 * (its callback runs once libuv wrote it to the IPC pipe).
 */
function exit(msg: FromVmm & { type: 'exiting' }): void {
  if (process.send === undefined || !process.connected) native.exitGroup(msg.code);
  process.send!(msg, undefined, undefined, () => native.exitGroup(msg.code));
}

function serveRequests(vm: VmHandle): void {
  process.on('message', (m: unknown) => {
    if (!isToVmm(m) || m.type !== 'request') return;
    const reply = (r: FromVmm): void => void process.send?.(r);
    const id = m.id;
    switch (m.request) {
      case 'pause':
        void vm.pause().then((ok) => reply(ok ? { type: 'reply', id, ok } : { type: 'reply', id, ok, error: 'the VM is not running' }));
        break;
      case 'resume':
        reply(vm.resume() ? { type: 'reply', id, ok: true } : { type: 'reply', id, ok: false, error: 'the VM is not paused' });
        break;
      case 'stop':
        vm.stop('stopped by request');
        reply({ type: 'reply', id, ok: true });
        break;
      case 'metrics':
        reply({ type: 'reply', id, ok: true, metrics: vm.metrics() });
        break;
    }
  });
  // The parent went away without a word (its PDEATHSIG follows if it died): end the VM.
  process.on('disconnect', () => vm.stop('the parent process closed its channel'));
}

async function run(start: ToVmm & { type: 'start' }): Promise<void> {
  let vm: VmHandle;
  try {
    vm = await startVmm(start.config, {
      log,
      guestStarting: () => void process.send?.({ type: 'running' } satisfies FromVmm),
      consoleInput: process.stdin,
      consoleEscapes: start.consoleEscapes,
      consoleOutFd: CONSOLE_FD,
      consoleLine: consoleLine?.buffer,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log(message);
    // A configuration this host cannot run is a usage error, as a bad argument is.
    exit({ type: 'exiting', code: err instanceof ConfigError ? 2 : 1, error: message });
    return;
  }
  serveRequests(vm);
  const code = await vm.exited;
  exit({ type: 'exiting', code, metrics: vm.metrics() });
}

dieWithParent();
// vCPU 0's worker starts loading now, beside this thread's wait for its configuration.
if (process.send !== undefined) prestartVcpuWorker();
if (process.send === undefined) {
  log('the VMM process is started by tsvmm (bin/tsvmm or the library), not by hand');
  native.exitGroup(2);
}
process.once('message', (m: unknown) => {
  startupMark('vmm', 'config');
  if (!isToVmm(m) || m.type !== 'start') {
    log('the VMM process expected its configuration first');
    native.exitGroup(2);
  }
  run(m as ToVmm & { type: 'start' }).catch((err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    native.exitGroup(1);
  });
});
