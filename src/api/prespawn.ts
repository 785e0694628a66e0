// Spawning the VMM process (vmm/main.ts), and spawning it early: bin/tsvmm
// calls prespawnVmm() before it loads the CLI, so the VMM's Node start-up
// and module loading overlap the supervisor's own (the VMM waits for its
// configuration over IPC anyway). The CLI's VmProcess adopts that process;
// if the CLI ends without one (help, a usage error), discardPrespawned()
// kills it. This module imports nothing heavy: it runs first.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LOG_FD_ENV, PARENT_PID_ENV } from '../vmm/main_env.js';

const MAIN = fileURLToPath(new URL('../vmm/main.js', import.meta.url));

/** The VMM's fd for its lines: after stdin, stdout, stderr and the IPC channel. */
export const VMM_LOG_FD = 4;

/**
 * The VMM process's environment: the caller's, plus how to find its parent
 * and its log fd, and UV_USE_IO_URING=0 whatever the caller's says: libuv
 * would otherwise make io_uring rings at start-up (the default on Node
 * 20.3-20.11, or UV_USE_IO_URING=1 on later ones), whose I/O bypasses the
 * seccomp filter and whose io_uring_enter the filter kills (sandbox/io_uring.ts).
 */
export function vmmChildEnv(env: NodeJS.ProcessEnv, parentPid: number): NodeJS.ProcessEnv {
  return { ...env, [PARENT_PID_ENV]: String(parentPid), [LOG_FD_ENV]: String(VMM_LOG_FD), UV_USE_IO_URING: '0' };
}

/** The VMM process with an IPC channel (stdio: the console's first two, stderr, ipc, then its log fd). */
export function spawnVmmProcess(stdio: StdioOptions, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [MAIN], { stdio, env: vmmChildEnv({ ...process.env, ...env }, process.pid) });
}

/** The CLI's stdio for a VMM: the terminal (inherited), stderr piped, ipc, and its lines on the CLI's stderr (no --log yet). */
const INHERIT_STDIO: StdioOptions = ['inherit', 'inherit', 'pipe', 'ipc', 2];

let early: ChildProcess | undefined;

/** Spawns the CLI's VMM process now, unless `argv` asks only for help or the version. */
export function prespawnVmm(argv: readonly string[]): void {
  if (argv.length === 0 || argv.some((a) => a === '-h' || a === '--help' || a === '-V' || a === '--version')) return;
  early = spawnVmmProcess(INHERIT_STDIO);
  early.on('error', () => undefined); // reported by whoever adopts it (or nobody, if discarded)
}

/** The process prespawnVmm() started, once (the next caller gets undefined). */
export function takePrespawned(): ChildProcess | undefined {
  const child = early;
  early = undefined;
  return child;
}

/** Kills a prespawned VMM nobody adopted (the CLI ended early). */
export function discardPrespawned(): void {
  const child = takePrespawned();
  if (child === undefined) return;
  child.kill('SIGKILL');
  child.disconnect?.();
}
