// The x86_64 seccomp policy.
//
// Numbers transcribed from arch/x86/entry/syscalls/syscall_64.tbl as installed
// in /usr/include/x86_64-linux-gnu/asm/unistd_64.h (`#define __NR_<name> <n>`);
// policy.test.ts re-reads that header and compares every entry.

import { AUDIT_ARCH } from '../constants.js';
import { COMMON_ENTRIES, HOT_ENTRIES, type CommonSyscall } from './common.js';
import type { ArchPolicy, PolicyEntry } from './types.js';

/** Syscall numbers: the VMM's allowlist first, then calls its tests expect refused or the API policy allows. */
export const SYSCALLS_X86_64 = {
  // in the policy (see the entries below)
  read: 0,
  write: 1,
  close: 3,
  fstat: 5,
  poll: 7,
  mmap: 9,
  mprotect: 10,
  munmap: 11,
  brk: 12,
  rt_sigaction: 13,
  recvmsg: 47,
  rt_sigtimedwait: 128,
  rt_sigprocmask: 14,
  rt_sigreturn: 15,
  ioctl: 16,
  sched_yield: 24,
  madvise: 28,
  getpid: 39,
  clone: 56,
  exit: 60,
  fcntl: 72,
  fdatasync: 75,
  fallocate: 285,
  gettid: 186,
  futex: 202,
  restart_syscall: 219,
  clock_gettime: 228,
  exit_group: 231,
  readv: 19,
  writev: 20,
  epoll_ctl: 233,
  tgkill: 234,
  openat: 257,
  set_robust_list: 273,
  epoll_pwait: 281,
  preadv: 295,
  pwritev: 296,
  rseq: 334,
  io_uring_setup: 425,
  clone3: 435,
  // not in the VMM's policy (killed there); some are in the API supervisor's (api.ts)
  shutdown: 48,
  wait4: 61,
  tkill: 200,
  open: 2,
  mremap: 25,
  socket: 41,
  connect: 42,
  sendmsg: 46,
  bind: 49,
  listen: 50,
  fork: 57,
  vfork: 58,
  execve: 59,
  kill: 62,
  unlink: 87,
  ptrace: 101,
  setuid: 105,
  personality: 135,
  pivot_root: 155,
  prctl: 157,
  chroot: 161,
  mount: 165,
  reboot: 169,
  init_module: 175,
  epoll_wait: 232,
  kexec_load: 246,
  keyctl: 250,
  newfstatat: 262,
  unlinkat: 263,
  ppoll: 271,
  unshare: 272,
  accept4: 288,
  perf_event_open: 298,
  setns: 308,
  process_vm_readv: 310,
  process_vm_writev: 311,
  finit_module: 313,
  seccomp: 317,
  memfd_create: 319,
  kexec_file_load: 320,
  bpf: 321,
  execveat: 322,
  userfaultfd: 323,
  pkey_mprotect: 329,
  io_uring_enter: 426,
  io_uring_register: 427,
  openat2: 437,
} as const;

export type SyscallX86_64 = keyof typeof SYSCALLS_X86_64;

const X86_64_ONLY: readonly PolicyEntry<SyscallX86_64>[] = [
  {
    name: 'poll',
    reason: 'device workers: native.poll on eventfds and the TAP fd (glibc poll() is the poll syscall on x86_64)',
  },
  { name: 'fstat', reason: 'Node\'s ResetStdio at exit fstat()s fds 0-2' },
];

export const POLICY_X86_64: ArchPolicy<SyscallX86_64> = {
  arch: 'x86_64',
  auditArch: AUDIT_ARCH.X86_64,
  rejectX32: true,
  syscalls: SYSCALLS_X86_64,
  allow: [...HOT_ENTRIES, ...X86_64_ONLY, ...COMMON_ENTRIES],
};

// Every shared name must have an x86_64 number (a compile-time check).
const _common: Record<CommonSyscall, number> = SYSCALLS_X86_64;
void _common;
