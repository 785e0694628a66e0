// The seccomp policy of the API supervisor: the parent process that serves
// the Firecracker API (api/firecracker/) and drives the VMM child over IPC.
// It never runs the guest: after the seal it only accepts connections on the
// socket it already listens on, reads and answers HTTP, writes to and reads
// from the VMM child's IPC channel and stderr pipe, kills and reaps that one
// child, removes its socket file and exits. Opening files, creating sockets
// or processes, and signalling anyone else are refused.
//
// How the list was measured (Node 20.20, glibc 2.36, x86_64): the test
// helper api/firecracker/seal_child.fixture.ts (spawns a stub VMM child, listens,
// warms up as warmUpBeforeSeal() does, then marks the seal point with
// prctl(PR_SET_NO_NEW_PRIVS)) was run under `strace -f` and driven through
// a whole session: the Firecracker boot sequence, InstanceStart forwarded
// over IPC, GET /, PATCH /vm, the post-boot actions, malformed JSON, unknown
// fields and paths, a post-boot PUT, an oversized body, a body that never
// arrives (timeout), a negative Content-Length, a chunked body, then SIGTERM:
// kill and reap the child, close the server, exit. Only the supervisor's own
// threads after the marker count: 26 distinct calls (the first trace also
// showed stdout's lazy set-up and /etc/localtime being read for the HTTP Date
// header; both now happen before the seal, see warmUpBeforeSeal, and the
// server sends no Date). Then the same session was run 40 times sealed in log
// mode: the kernel logged no audit record (type=1326) for it. A few entries
// come from the VMM policy's longer measurement of Node and glibc themselves
// (common.ts: sched_yield, openat answered EACCES, abort's tgkill/tkill,
// restart_syscall, the clock_gettime fallback); their reasons say so.
// Left out on purpose: clone (the supervisor starts no thread after the
// seal; libuv's threadpool is not used by the HTTP server or IPC), sendmsg
// (IPC messages without fds go out with write), socket/bind/listen (the
// listening socket exists before the seal).

import { ERRNO } from '../../native/linux.js';
import { AUDIT_ARCH, F, MSG, SHUT, SIG, SOCK } from '../constants.js';
import { SYSCALLS_AARCH64, type SyscallAarch64 } from './aarch64.js';
import type { ArchPolicy, PolicyEntry, SeccompArch } from './types.js';
import { SYSCALLS_X86_64, type SyscallX86_64 } from './x86_64.js';

/** Syscall names the API policy allows on both architectures. */
export type ApiSyscall =
  | 'epoll_pwait' | 'read' | 'write' | 'writev' | 'futex' | 'accept4' | 'recvmsg' | 'epoll_ctl' | 'close'
  | 'shutdown' | 'mmap' | 'munmap' | 'mprotect' | 'madvise' | 'brk'
  | 'rt_sigaction' | 'rt_sigprocmask' | 'rt_sigreturn' | 'restart_syscall'
  | 'kill' | 'wait4' | 'ioctl' | 'fcntl' | 'getpid' | 'clock_gettime' | 'sched_yield'
  | 'tgkill' | 'tkill' | 'exit' | 'exit_group' | 'openat';

/** Calls made per request or per IPC message: checked first. */
const HOT: readonly PolicyEntry<ApiSyscall>[] = [
  { name: 'epoll_pwait', reason: "libuv's event loop: waits for connections, request bytes, IPC replies, the child's stderr and timers" },
  { name: 'read', reason: 'request bytes from an API connection; the VMM child\'s stderr pipe; libuv\'s signal pipe (SIGCHLD, SIGTERM)' },
  { name: 'write', reason: 'short HTTP answers (204, 400); messages to the VMM child on the IPC channel; log lines to stderr' },
  { name: 'writev', reason: "Node's http writes an answer with a body as headers + body in one writev" },
  { name: 'futex', reason: 'V8 platform threads and libuv: mutexes and condition variables (GC, JIT compile jobs)' },
  {
    name: 'accept4',
    reason: 'libuv accepts API connections on the socket that listens since before the seal; only its flags (CLOEXEC|NONBLOCK)',
    rule: { kind: 'argIn', arg: 3, values: [SOCK.CLOEXEC | SOCK.NONBLOCK] },
  },
  {
    name: 'recvmsg',
    reason: "libuv reads the VMM child's IPC messages with recvmsg (an IPC pipe may carry fds); only with MSG_CMSG_CLOEXEC, as libuv calls it",
    rule: { kind: 'argIn', arg: 2, values: [MSG.CMSG_CLOEXEC] },
  },
  { name: 'epoll_ctl', reason: 'libuv adds and removes each API connection (and the IPC pipe) in the epoll set' },
  { name: 'close', reason: 'an API connection ends; the child\'s pipes close when it exits; the listening socket at shutdown' },
  {
    name: 'shutdown',
    reason: 'Node ends a connection it answered with Connection: close (oversized or late bodies, malformed requests): SHUT_WR only',
    rule: { kind: 'argIn', arg: 1, values: [SHUT.WR] },
  },
];

/** Memory, signals, the child, stdio and exit; architecture variants are added around them. */
const REST: readonly PolicyEntry<ApiSyscall>[] = [
  {
    name: 'mmap',
    reason: 'V8 heap pages and glibc malloc. Not argument-filtered: V8\'s JIT needs executable mappings, so PROT_EXEC cannot be refused',
  },
  { name: 'munmap', reason: 'V8 releases heap pages after GC; glibc frees large allocations' },
  { name: 'mprotect', reason: 'V8 commits heap pages and flips JIT code pages between writable and executable' },
  { name: 'madvise', reason: 'V8 GC returns pages (MADV_DONTNEED) and marks new heap reservations MADV_DONTFORK' },
  { name: 'brk', reason: 'glibc malloc grows and trims the main heap' },
  { name: 'rt_sigaction', reason: "Node's ResetSignalHandlers at exit; libuv restores SIGCHLD when the last child handle closes" },
  { name: 'rt_sigprocmask', reason: 'libuv blocks signals around its signal-pipe writes; glibc and Node\'s exit path' },
  { name: 'rt_sigreturn', reason: 'return from a signal handler: SIGCHLD and SIGTERM (libuv), V8\'s SIGSEGV trap handler' },
  {
    name: 'restart_syscall',
    reason: 'the kernel resumes a futex or sleep with a timeout interrupted by SIGCHLD (from the VMM policy\'s measurement, common.ts)',
  },
  {
    name: 'kill',
    reason: 'the supervisor forwards SIGINT/SIGTERM/SIGHUP to the VMM child and kills it at shutdown: only the child pids given at the seal',
    rule: { kind: 'childPid', arg: 0 },
  },
  {
    name: 'wait4',
    reason: "libuv reaps the VMM child on SIGCHLD with waitpid(child, ..., WNOHANG): only the child pids given at the seal",
    rule: { kind: 'childPid', arg: 0 },
  },
  {
    name: 'ioctl',
    reason:
      'terminal only: TCGETS/TCSETS/TCSETSW when the console goes raw and is restored, TIOCGWINSZ, FIONBIO and FIONREAD from ' +
      'libuv on stdio. Only the request numbers the caller lists (api/firecracker/seal.ts API_IOCTLS)',
    rule: { kind: 'ioctlRequest' },
  },
  {
    name: 'fcntl',
    reason: "Node's ResetStdio at exit reads and restores O_NONBLOCK on fds 0-2 (measured: F_GETFL, F_SETFL only)",
    rule: { kind: 'argIn', arg: 1, values: [F.GETFL, F.SETFL] },
  },
  { name: 'getpid', reason: 'V8 GCTracer after a garbage collection (measured); glibc raise() inside abort()' },
  {
    name: 'clock_gettime',
    reason: 'V8 and libuv clocks (request timeouts) go through the vDSO, which falls back to this syscall on some clocksources. Reads only',
  },
  {
    name: 'sched_yield',
    reason: 'libuv uv__async_spin when an async handle closes while another thread signals it (from the VMM policy\'s measurement)',
  },
  {
    name: 'tgkill',
    reason: 'abort() -> raise(SIGABRT): a failed assertion must die with SIGABRT, not SIGSYS. SIGABRT only',
    rule: { kind: 'argIn', arg: 2, values: [SIG.ABRT] },
  },
  {
    name: 'tkill',
    reason: 'raise(SIGABRT) in C libraries that use tkill. SIGABRT only',
    rule: { kind: 'argIn', arg: 1, values: [SIG.ABRT] },
  },
  { name: 'exit', reason: 'V8 platform threads end when the process exits normally' },
  { name: 'exit_group', reason: 'the supervisor exits when its event loop is empty, or by process.exit()' },
  {
    name: 'openat',
    reason:
      'not allowed, answered EACCES instead of a kill: glibc free() in a thread arena opens /proc/sys/vm/overcommit_memory ' +
      'at a moment nobody controls (the VMM policy\'s measurement); glibc takes the failure as "do not shrink". No file is opened after the seal',
    rule: { kind: 'errno', errno: ERRNO.EACCES },
  },
];

const UNLINK_REASON =
  'libuv removes the API socket file when the server closes (uv__pipe_close -> unlink). The path is a pointer a filter cannot read; ' +
  'the cost is that a compromised supervisor could delete files its user owns';

const API_X86_64_ONLY: readonly PolicyEntry<SyscallX86_64>[] = [
  { name: 'unlink', reason: UNLINK_REASON },
  { name: 'fstat', reason: "Node's ResetStdio at exit fstat()s fds 0-2" },
];

const API_AARCH64_ONLY: readonly PolicyEntry<SyscallAarch64>[] = [
  // glibc's unlink(path) is unlinkat(AT_FDCWD, path, 0) on arm64.
  { name: 'unlinkat', reason: `${UNLINK_REASON}. Flags 0 only: no AT_REMOVEDIR`, rule: { kind: 'argIn', arg: 2, values: [0] } },
  { name: 'fstat', reason: "Node's ResetStdio at exit fstat()s fds 0-2" },
  { name: 'newfstatat', reason: 'the same fstat() in glibc builds that implement it as fstatat(fd, "", AT_EMPTY_PATH). Metadata only' },
];

export const API_POLICY_X86_64: ArchPolicy<SyscallX86_64> = {
  arch: 'x86_64',
  auditArch: AUDIT_ARCH.X86_64,
  rejectX32: true,
  syscalls: SYSCALLS_X86_64,
  allow: [...HOT, ...API_X86_64_ONLY, ...REST],
};

export const API_POLICY_AARCH64: ArchPolicy<SyscallAarch64> = {
  arch: 'aarch64',
  auditArch: AUDIT_ARCH.AARCH64,
  rejectX32: false,
  syscalls: SYSCALLS_AARCH64,
  allow: [...HOT, ...API_AARCH64_ONLY, ...REST],
};

/** The API supervisor's policy table for one architecture. */
export function apiPolicyFor(arch: SeccompArch): ArchPolicy {
  return arch === 'x86_64' ? API_POLICY_X86_64 : API_POLICY_AARCH64;
}

// Every shared name must have a number on both architectures (compile-time checks).
const _x86: Record<ApiSyscall, number> = SYSCALLS_X86_64;
const _arm: Record<ApiSyscall, number> = SYSCALLS_AARCH64;
void _x86;
void _arm;
