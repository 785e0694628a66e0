// Spawning the VMM process (vmm/main.ts), and spawning it early: bin/tsvmm
// calls prespawnVmm() before it loads the CLI, so the VMM's Node start-up
// and module loading overlap the supervisor's own (the VMM waits for its
// configuration over IPC anyway). The CLI's VmProcess adopts that process;
// if the CLI ends without one (help, a usage error), discardPrespawned()
// kills it. This module imports nothing heavy: it runs first.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PARENT_PID_ENV } from '../vmm/main_env.js';

const MAIN = fileURLToPath(new URL('../vmm/main.js', import.meta.url));

/** The VMM process with an IPC channel (stdio: the console's first two, then stderr and ipc). */
export function spawnVmmProcess(stdio: StdioOptions, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [MAIN], {
    stdio,
    // io_uring rings would be created before the seal and bypass it; libuv falls back to epoll and its threadpool.
    env: { ...process.env, ...env, [PARENT_PID_ENV]: String(process.pid), UV_USE_IO_URING: '0' },
  });
}

/** The CLI's stdio for a VMM: the terminal (inherited), stderr piped for log lines, ipc. */
export const INHERIT_STDIO: StdioOptions = ['inherit', 'inherit', 'pipe', 'ipc'];

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
