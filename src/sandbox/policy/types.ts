// The shape of a seccomp policy: data, compiled by ../program.ts.

export type SeccompArch = 'x86_64' | 'aarch64';

/** Index into seccomp_data.args. */
export type ArgIndex = 0 | 1 | 2 | 3 | 4 | 5;

/**
 * A value known only when the filter is built: the VMM's own process id
 * (SeccompProgramOptions.pid). Policies are data written before any process
 * exists, so they name it instead of holding it.
 */
export const OWN_PID = { input: 'pid' } as const;

/** What an argument may equal: a constant, or a run-time input. */
export type ArgValue = number | typeof OWN_PID;

/**
 * An argument check on an allowed syscall, or a canned answer. A call that
 * fails a check gets the policy's default action (kill, or log).
 */
export type SyscallRule =
  /**
   * ioctl: the request (arg1) must be one of the numbers passed to
   * buildSeccompProgram, which come from the KVM, TUN and terminal modules.
   * Checked as a 64-bit value: high half 0, low half in the set (see
   * IOCTL_REQUEST_ARG in ../program.ts for why the high half must be 0).
   */
  | { readonly kind: 'ioctlRequest' }
  /** args[arg] equals one of `values`: high half 0, low half in the set. */
  | { readonly kind: 'argIn'; readonly arg: ArgIndex; readonly values: readonly number[] }
  /** Every listed argument equals one of its values (each as in argIn). */
  | { readonly kind: 'argsIn'; readonly args: ReadonlyArray<{ readonly arg: ArgIndex; readonly values: readonly ArgValue[] }> }
  /**
   * The low 32 bits of args[arg] contain every bit of `allOf` and none of
   * `noneOf`. Only for arguments the kernel itself truncates to 32 bits, so
   * the high half cannot change what the call does; `lowHalfOnly` says where.
   */
  | {
      readonly kind: 'flags';
      readonly arg: ArgIndex;
      readonly allOf: number;
      readonly noneOf: number;
      readonly lowHalfOnly: string;
    }
  /**
   * args[arg] is one of the process ids passed to the program builder
   * (SeccompProgramOptions.childPids: children spawned before the seal, known
   * only at run time): high half 0, low half in the set.
   */
  | { readonly kind: 'childPid'; readonly arg: ArgIndex }
  /** Not run: the caller gets -1 with this errno (SECCOMP_RET_ERRNO). */
  | { readonly kind: 'errno'; readonly errno: number };

/** One allowed (or canned) syscall and the code path that needs it. */
export interface PolicyEntry<N extends string = string> {
  readonly name: N;
  readonly reason: string;
  readonly rule?: SyscallRule;
}

/** Everything program.ts needs to build one architecture's filter. */
export interface ArchPolicy<N extends string = string> {
  readonly arch: SeccompArch;
  /** AUDIT_ARCH_* the program requires in seccomp_data.arch. */
  readonly auditArch: number;
  /** x86_64 only: refuse numbers with the x32 bit (the x32 ABI shares the x86_64 AUDIT_ARCH). */
  readonly rejectX32: boolean;
  /** Syscall numbers for every name the policy and its tests mention. */
  readonly syscalls: Readonly<Record<N, number>>;
  /** Checked in this order: hot syscalls first. */
  readonly allow: readonly PolicyEntry<N>[];
}
