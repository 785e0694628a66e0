// Kernel ABI constants the seccomp sandbox needs, each with its header.
// Values were read from the host's UAPI headers (/usr/include/linux/...);
// they are identical on x86_64 and arm64 unless a comment says otherwise.

/**
 * struct seccomp_data (include/uapi/linux/seccomp.h): what a seccomp BPF
 * program reads with 32-bit absolute loads.
 *   int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];
 * Both supported architectures are little-endian, so the low 32 bits of a
 * u64 field sit at its offset and the high 32 bits at offset + 4.
 */
export const SECCOMP_DATA = {
  NR: 0,
  ARCH: 4,
  INSTRUCTION_POINTER: 8,
  ARGS: 16,
  ARG_SIZE: 8,
  ARG_COUNT: 6,
  /** sizeof(struct seccomp_data): loads at or past this offset are rejected. */
  SIZE: 64,
} as const;

/** Offset of the low 32 bits of args[i] (little-endian). */
export function argLow(i: number): number {
  return SECCOMP_DATA.ARGS + i * SECCOMP_DATA.ARG_SIZE;
}

/** Offset of the high 32 bits of args[i] (little-endian). */
export function argHigh(i: number): number {
  return argLow(i) + 4;
}

/**
 * AUDIT_ARCH_* (include/uapi/linux/audit.h): EM_* machine number
 * (include/uapi/linux/elf-em.h) | __AUDIT_ARCH_64BIT 0x80000000 |
 * __AUDIT_ARCH_LE 0x40000000.
 */
export const AUDIT_ARCH = {
  /** EM_X86_64 62 | 64BIT | LE */
  X86_64: 0xc000003e,
  /** EM_AARCH64 183 | 64BIT | LE */
  AARCH64: 0xc00000b7,
  /** EM_386 3 | LE: the int 0x80 entry on an x86_64 kernel. */
  I386: 0x40000003,
  /** EM_ARM 40 | LE: AArch32 compat tasks on an arm64 kernel. */
  ARM: 0x40000028,
} as const;

/**
 * x32 system calls enter through the x86_64 entry with this bit set in the
 * number and the x86_64 AUDIT_ARCH (arch/x86/include/uapi/asm/unistd.h
 * __X32_SYSCALL_BIT).
 */
export const X32_SYSCALL_BIT = 0x40000000;

/** Filter return values (include/uapi/linux/seccomp.h). */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
  /** Mask for the action part of a return value. */
  ACTION_FULL: 0xffff0000,
  /** Mask for the data part (the errno for ERRNO). */
  DATA: 0x0000ffff,
} as const;

/** seccomp(2) operations and flags (include/uapi/linux/seccomp.h). */
export const SECCOMP_OP = {
  SET_MODE_FILTER: 1,
  GET_ACTION_AVAIL: 2,
} as const;

export const SECCOMP_FILTER_FLAG = {
  /** Apply the filter to every thread of the process, or fail naming one. */
  TSYNC: 1,
} as const;

/** prctl(2) options (include/uapi/linux/prctl.h). */
export const PR = {
  /** Signal this process gets when its parent dies. */
  SET_PDEATHSIG: 1,
  SET_NO_NEW_PRIVS: 38,
  GET_NO_NEW_PRIVS: 39,
} as const;

/** clone(2) flags (include/uapi/linux/sched.h). */
export const CLONE = {
  THREAD: 0x00010000,
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
  NEWTIME: 0x00000080,
} as const;

/** Every CLONE_NEW* flag: a thread never needs a new namespace. */
export const CLONE_NAMESPACE_FLAGS =
  CLONE.NEWNS | CLONE.NEWCGROUP | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWTIME;

/** fcntl(2) commands (include/uapi/asm-generic/fcntl.h; same on x86_64). */
export const F = {
  GETFL: 3,
  SETFL: 4,
} as const;

/** Signal numbers (include/uapi/asm-generic/signal.h; same on x86_64). */
export const SIG = {
  ABRT: 6,
  SYS: 31,
} as const;

/** socket(2)/accept4(2) type flags (include/linux/net.h, asm-generic/fcntl.h; same on x86_64). */
export const SOCK = {
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
} as const;

/** shutdown(2) `how` (include/linux/net.h enum sock_shutdown_cmd). */
export const SHUT = {
  WR: 1,
} as const;

/** recvmsg(2) flags (include/linux/socket.h). */
export const MSG = {
  CMSG_CLOEXEC: 0x40000000,
} as const;
