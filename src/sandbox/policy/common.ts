// Allowlist entries shared by x86_64 and aarch64 (same names, each
// architecture has its own numbers). Every entry says which code path needs it.
//
// How the list was measured (Node 20.20, glibc 2.36, x86_64, 2 cores): a
// child that loads the addon, starts two Workers, marks the install point
// with prctl(PR_SET_NO_NEW_PRIVS), then does what the VMM does after
// install (eventfd read/write/poll, preadv/pwritev/fdatasync on an image,
// postMessage round trips, Atomics.wait, GC churn, JIT warm-up, stdout to a
// pipe and a pty, stdin in raw mode, SIGINT/SIGWINCH delivery, the lazy start
// of libuv's threadpool) and then exits normally, by process.exit(),
// by an uncaught exception and by process.abort(). Run under
// `strace -f -c` and `strace -f`; only the calls after the marker count.
// The same workload was then repeated about a hundred times with the policy
// installed in log mode and the kernel's audit records (dmesg, type 1326)
// read back; that found the racy calls a single trace misses (sched_yield,
// openat from glibc malloc). Syscalls that appeared only before the marker
// (openat, statx, getrandom, pipe2, eventfd2, epoll_create1, capget,
// prlimit64, sched_getaffinity, readlink, dup3, ...) are set-up and stay
// forbidden: everything that opens files, creates Workers or first touches
// process.stdin (libuv reopens a tty stdin) must happen before install.

import { ERRNO, FALLOC, VCPU_KICK_SIGNAL } from '../../native/linux.js';
import { CLONE, CLONE_NAMESPACE_FLAGS, F, MSG, SIG } from '../constants.js';
import { OWN_PID, type PolicyEntry } from './types.js';

/** Syscall names allowed on both architectures. */
export type CommonSyscall =
  | 'ioctl' | 'futex' | 'read' | 'write' | 'epoll_pwait' | 'epoll_ctl'
  | 'preadv' | 'pwritev' | 'fdatasync' | 'fallocate' | 'readv' | 'writev'
  | 'mmap' | 'mprotect' | 'munmap' | 'madvise' | 'brk'
  | 'close' | 'fcntl' | 'getpid' | 'gettid' | 'clock_gettime'
  | 'sched_yield' | 'rt_sigprocmask' | 'rt_sigaction' | 'rt_sigreturn' | 'restart_syscall'
  | 'tgkill' | 'rt_sigtimedwait'
  | 'clone' | 'clone3' | 'set_robust_list' | 'rseq' | 'io_uring_setup'
  | 'exit' | 'exit_group' | 'openat' | 'recvmsg';

const ENOSYS = ERRNO.ENOSYS;
const EACCES = ERRNO.EACCES;

/** Entries that come first: the calls made per guest exit or per I/O. */
export const HOT_ENTRIES: readonly PolicyEntry<CommonSyscall>[] = [
  {
    name: 'ioctl',
    reason:
      'vCPU workers: KVM_RUN and register access per exit; vmm: late KVM/TUN calls; cli terminal: ' +
      'TCGETS/TCSETSW when stdin goes raw, TCSETS in Node\'s ResetStdio at exit, FIONBIO from libuv. ' +
      'Only the request numbers the caller lists.',
    rule: { kind: 'ioctlRequest' },
  },
  {
    name: 'futex',
    reason:
      'pthread mutexes/condvars of V8 platform workers, libuv loops and threadpool; Atomics.wait/notify ' +
      'between vCPU and device workers (measured: WAIT/WAKE_PRIVATE, WAIT_BITSET)',
  },
  {
    name: 'read',
    reason:
      'device workers: native.read on eventfds (ioeventfd kicks) and the TAP fd; serial input from stdin; ' +
      'libuv reads the eventfd behind every MessagePort wake-up',
  },
  {
    name: 'write',
    reason:
      'device workers: native.write to eventfds (irqfd) and the TAP fd; serial output to stdout; ' +
      'libuv uv_async_send behind worker postMessage',
  },
];

/** Entries a specific architecture's poll/fstat variants go between. */
export const COMMON_ENTRIES: readonly PolicyEntry<CommonSyscall>[] = [
  { name: 'epoll_pwait', reason: 'libuv uv__io_poll: the event loop of the main thread and of every Worker' },
  { name: 'epoll_ctl', reason: 'libuv adds stdin when the console starts reading and removes a Worker\'s handles when it exits' },
  { name: 'preadv', reason: 'virtio-blk: native.preadv executes read requests on the disk image' },
  { name: 'pwritev', reason: 'virtio-blk: native.pwritev executes write requests on the disk image' },
  { name: 'readv', reason: 'virtio-net: native.readv reads a frame from the TAP straight into guest RX buffers' },
  { name: 'writev', reason: 'virtio-net: native.writev sends a guest TX chain (header + data) to the TAP as one frame' },
  { name: 'fdatasync', reason: 'virtio-blk: native.fdatasync executes flush requests' },
  {
    name: 'fallocate',
    reason: 'virtio-blk: DISCARD and WRITE_ZEROES punch or zero a range of the image; only with KEEP_SIZE, so the image never grows or shrinks',
    rule: { kind: 'argIn', arg: 1, values: [FALLOC.PUNCH_HOLE | FALLOC.KEEP_SIZE, FALLOC.ZERO_RANGE | FALLOC.KEEP_SIZE] },
  },
  {
    name: 'mmap',
    reason:
      'V8 heap pages and GC, glibc malloc arenas, thread stacks. Not argument-filtered: V8\'s JIT ' +
      'needs executable mappings, so PROT_EXEC cannot be refused',
  },
  { name: 'mprotect', reason: 'V8 commits and protects heap and code pages; glibc stack guard pages' },
  { name: 'munmap', reason: 'V8 releases heap pages after GC; glibc frees thread stacks and large allocations' },
  { name: 'madvise', reason: 'V8 GC returns pages (MADV_DONTNEED) and marks heap reservations MADV_DONTFORK; glibc thread exit' },
  { name: 'brk', reason: 'glibc malloc grows and trims the main heap' },
  { name: 'close', reason: 'libuv closes a Worker\'s epoll fd and eventfds when it exits; the VMM closes fds at shutdown' },
  {
    name: 'fcntl',
    reason: 'Node\'s ResetStdio at exit and libuv stdin set-up read and restore O_NONBLOCK (measured: F_GETFL, F_SETFL only)',
    rule: { kind: 'argIn', arg: 1, values: [F.GETFL, F.SETFL] },
  },
  { name: 'getpid', reason: 'V8 GCTracer after every garbage collection; glibc raise() inside abort()' },
  { name: 'gettid', reason: 'V8 and Node thread ids (base::OS::GetCurrentThreadId); the install test\'s allowed probe' },
  {
    name: 'clock_gettime',
    reason:
      'V8 and libuv clocks go through the vDSO; it falls back to this syscall when the clocksource has ' +
      'no vDSO mode (Xen, unstable TSC). Reads only',
  },
  {
    name: 'sched_yield',
    reason:
      'libuv uv__async_spin: closing a MessagePort/Worker async handle while another thread is inside ' +
      'uv_async_send (found by a kill in the install test, 1 run in 2)',
  },
  { name: 'rt_sigprocmask', reason: 'glibc thread start/exit and abort(), Node\'s exit path block and restore signals' },
  {
    name: 'rt_sigaction',
    reason: 'Node\'s ResetSignalHandlers at exit; libuv resets SIGWINCH when the tty handle closes; process.on(signal) after install',
  },
  { name: 'rt_sigreturn', reason: 'return from any signal handler: Node\'s SIGINT/SIGTERM/SIGWINCH, V8\'s SIGSEGV trap handler' },
  { name: 'restart_syscall', reason: 'the kernel resumes a poll/futex/sleep with a timeout interrupted by one of those handlers' },
  {
    name: 'tgkill',
    reason:
      'abort() -> raise(SIGABRT): a failed assertion must die with SIGABRT, not SIGSYS; vcpu/kick.ts: ' +
      'tgkill(own pid, vCPU tid, VCPU_KICK_SIGNAL) kicks a vCPU thread out of KVM_RUN (pause, stop). Only into this ' +
      'process (tgid = the VMM\'s pid, an input of the filter) and only those two signals. tkill, which ' +
      'names no process and could reach any thread on the host, is not allowed',
    rule: { kind: 'argsIn', args: [{ arg: 0, values: [OWN_PID] }, { arg: 2, values: [SIG.ABRT, VCPU_KICK_SIGNAL] }] },
  },
  {
    name: 'rt_sigtimedwait',
    reason: 'vcpu/kick.ts: a vCPU thread takes its pending kick signal (zero timeout) after KVM_RUN returned EINTR',
  },
  {
    name: 'clone',
    reason:
      'libuv starts its threadpool lazily on the first async fs/dns request, after glibc\'s clone3 ' +
      'attempt gets ENOSYS. Threads only (CLONE_THREAD), no new namespaces: no fork',
    rule: {
      kind: 'flags',
      arg: 0,
      allOf: CLONE.THREAD,
      noneOf: CLONE_NAMESPACE_FLAGS,
      lowHalfOnly: 'kernel/fork.c clone() uses lower_32_bits(clone_flags); the high half is ignored',
    },
  },
  {
    name: 'clone3',
    reason:
      'glibc >= 2.34 pthread_create tries clone3 first; its flags sit in memory a filter cannot read, ' +
      'so it gets ENOSYS and glibc falls back to the checked clone',
    rule: { kind: 'errno', errno: ENOSYS },
  },
  { name: 'set_robust_list', reason: 'glibc start_thread in a thread created after install (libuv threadpool)' },
  { name: 'rseq', reason: 'glibc >= 2.35 start_thread registers restartable sequences in a new thread' },
  {
    name: 'io_uring_setup',
    reason:
      'libuv >= 1.45 probes io_uring when a loop is created; ENOSYS makes it use the threadpool. ' +
      'A ring would run I/O this filter never sees',
    rule: { kind: 'errno', errno: ENOSYS },
  },
  { name: 'exit', reason: 'a thread ends: a Worker terminates, a threadpool thread returns from start_thread' },
  { name: 'exit_group', reason: 'the process exits: process.exit(), an empty event loop, an uncaught exception' },
  {
    name: 'openat',
    reason:
      'not allowed, answered EACCES instead of a kill: glibc free() in a thread arena (shrink_heap -> ' +
      'check_may_shrink_heap) opens /proc/sys/vm/overcommit_memory once per process at a moment we do ' +
      'not control (1 run in 4 of the install test). glibc treats the failure as "do not shrink" and ' +
      'goes on; no file is ever opened after install',
    rule: { kind: 'errno', errno: EACCES },
  },
  {
    name: 'recvmsg',
    reason:
      "libuv reads the parent's IPC messages (pause, resume, stop, metrics from the library or the CLI) " +
      'with recvmsg; only with MSG_CMSG_CLOEXEC, as libuv calls it',
    rule: { kind: 'argIn', arg: 2, values: [MSG.CMSG_CLOEXEC] },
  },
];
