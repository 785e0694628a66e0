// Test helper, run by install.test.ts as its own process:
//   node dist/src/sandbox/install_child.js <kill|log> <denied|allowed|enosys|kick|tgkill-other|tkill|abort|sigusr1|sigusr1-bare>
// Starts two Workers that wait for a message, installs the host's real policy
// with TSYNC, reports Seccomp/NoNewPrivs of every thread, then has a Worker
// that existed before the install make one syscall (or aborts the process).
// sigusr1: keepInspectorClosed before the install, then wait for a SIGUSR1
// from the test (sigusr1-bare: the same without keepInspectorClosed).
// After install it only does what the policy allows: native.read/write,
// postMessage, and a normal exit. Output: one JSON object per line on stdout.

import { openSync, readdirSync } from 'node:fs';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { native } from '../native/addon.js';
import { url as inspectorUrl } from 'node:inspector';
import { applySeccomp } from './index.js';
import { keepInspectorClosed } from './inspector.js';
import { hostSeccompArch, policyFor, type SeccompMode } from './program.js';
import { SIG } from './constants.js';
import { VCPU_KICK_SIGNAL } from '../native/linux.js';

/** socket(2) arguments for the denied probe (include/linux/socket.h, net.h). */
const AF_INET = 2;
const SOCK_STREAM = 1;

type Call = 'denied' | 'allowed' | 'enosys' | 'kick' | 'tgkill-other' | 'tkill' | 'quit';

/** rt_sigprocmask's `how` (asm-generic/signal-defs.h) and the kernel's sigset size (64 signals). */
const SIG_BLOCK = 0;
const SIGSET_BYTES = 8;
/** A thread id no thread has (PID_MAX_LIMIT is 2^22): a signal sent to it finds nobody (ESRCH). */
const NO_SUCH_TID = 0x7ffffff0;
/** Read now, before the install: process.ppid makes a getppid call, which the filter refuses. */
const PARENT = process.ppid;

/**
 * What the vCPU kick does (vcpu/kick.ts): block the kick signal, send it to
 * this thread with tgkill(own pid, own tid), take it back with
 * rt_sigtimedwait (zero timeout). Returns [tgkill, rt_sigtimedwait] results.
 */
function kick(): number[] {
  const set = Buffer.alloc(SIGSET_BYTES);
  set.writeBigUInt64LE(1n << BigInt(VCPU_KICK_SIGNAL - 1));
  const timeout = Buffer.alloc(16); // struct timespec {0, 0}: do not wait
  const blocked = native.rawSyscall(syscallNumber('rt_sigprocmask'), SIG_BLOCK, native.address(set), 0, SIGSET_BYTES);
  if (blocked !== 0) return [blocked];
  const sent = native.rawSyscall(syscallNumber('tgkill'), process.pid, native.gettid(), VCPU_KICK_SIGNAL);
  return [sent, native.rawSyscall(syscallNumber('rt_sigtimedwait'), native.address(set), 0, native.address(timeout), SIGSET_BYTES)];
}

function report(value: object): void {
  native.write(1, Buffer.from(`${JSON.stringify(value)}\n`));
}

function syscallNumber(name: string): number {
  const nr = (policyFor(hostSeccompArch()).syscalls as Record<string, number | undefined>)[name];
  if (nr === undefined) throw new Error(`no ${name} number`);
  return nr;
}

function perform(call: Exclude<Call, 'quit'>): number[] {
  if (call === 'denied') return [native.rawSyscall(syscallNumber('socket'), AF_INET, SOCK_STREAM, 0)];
  if (call === 'allowed') return [native.rawSyscall(syscallNumber('gettid'))];
  if (call === 'kick') return kick();
  // SIGABRT (allowed as a signal) to a thread of the parent: the target process decides. ESRCH if it ran.
  if (call === 'tgkill-other') return [native.rawSyscall(syscallNumber('tgkill'), PARENT, NO_SUCH_TID, SIG.ABRT)];
  if (call === 'tkill') return [native.rawSyscall(syscallNumber('tkill'), NO_SUCH_TID, SIG.ABRT)];
  return [native.rawSyscall(syscallNumber('clone3'), 0, 0), native.rawSyscall(syscallNumber('io_uring_setup'), 1, 0)];
}

function runWorker(): void {
  const port = parentPort;
  if (port === null) throw new Error('not a worker');
  port.on('message', (call: Call) => {
    if (call === 'quit') {
      port.close();
      return;
    }
    port.postMessage({ results: perform(call), tid: native.gettid() });
  });
  port.postMessage({ tid: native.gettid() });
}

interface ThreadStatus {
  tid: number;
  seccomp: string;
  noNewPrivs: string;
}

function field(status: string, name: string): string {
  const m = new RegExp(`^${name}:\\t(.*)$`, 'm').exec(status);
  return m?.[1] ?? 'missing';
}

function once<T>(w: Worker): Promise<T> {
  return new Promise((resolve) => w.once('message', resolve));
}

async function runMain(mode: SeccompMode, action: string): Promise<void> {
  const workers = [new Worker(new URL(import.meta.url)), new Worker(new URL(import.meta.url))];
  const ready = await Promise.all(workers.map((w) => once<{ tid: number }>(w)));
  // /proc files are opened now: after install, openat is refused.
  const tasks = readdirSync('/proc/self/task').map((t) => ({ tid: Number(t), fd: openSync(`/proc/self/task/${t}/status`, 'r') }));

  let signalled: () => void = () => undefined;
  const gotSignal = new Promise<void>((resolve) => (signalled = resolve));
  if (action === 'sigusr1') {
    keepInspectorClosed((line) => {
      report({ event: 'log', line });
      signalled();
    });
  }

  const program = applySeccomp({ ioctls: [], mode, pid: process.pid });

  const threads: ThreadStatus[] = tasks.map(({ tid, fd }) => {
    const buf = Buffer.alloc(8192);
    const text = buf.toString('latin1', 0, Math.max(0, native.read(fd, buf)));
    return { tid, seccomp: field(text, 'Seccomp'), noNewPrivs: field(text, 'NoNewPrivs') };
  });
  report({ event: 'installed', instructions: program.instructions, workerTids: ready.map((r) => r.tid), threads });

  if (action === 'abort') process.abort();
  if (action === 'sigusr1' || action === 'sigusr1-bare') {
    await gotSignal; // sigusr1-bare: never; the inspector's socket() ends the process
    report({ event: 'result', results: [], inspector: inspectorUrl() ?? null });
    for (const w of workers) w.postMessage('quit' satisfies Call);
    return;
  }
  const first = workers[0] as Worker;
  first.postMessage(action as Call);
  const answer = await once<{ results: number[]; tid: number }>(first);
  report({ event: 'result', results: answer.results, tid: answer.tid });
  for (const w of workers) w.postMessage('quit' satisfies Call);
}

if (isMainThread) {
  const mode = process.argv[2] === 'log' ? 'log' : 'kill';
  await runMain(mode, process.argv[3] ?? 'allowed');
} else {
  runWorker();
}
