// Installs a seccomp program on every thread of this process.
//
// Order: prctl(PR_SET_NO_NEW_PRIVS, 1) (required for an unprivileged filter,
// and keeps execve from gaining privileges), then
// seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &sock_fprog).
// With TSYNC the result is three-way: 0 means every thread is filtered;
// -1 sets errno; a positive value is the TID of a thread that could not be
// synchronised (it already has an incompatible filter). Anything but 0 is a
// SeccompInstallError, and the caller must not run the guest unfiltered.
//
// Call it after all set-up (files opened, Workers started, process.stdin
// touched) and before the terminal goes raw and the vCPUs run.

import { native, type Native } from '../native/addon.js';
import { BPF, BPF_MAXINSNS, SOCK_FILTER_SIZE, decode } from './bpf.js';
import { PR, SECCOMP_FILTER_FLAG, SECCOMP_OP, SECCOMP_RET } from './constants.js';
import { TsvmmError, errnoCode } from '../base/errors.js';

/** The addon calls install needs; tests pass a fake to drive the error paths. */
export type SeccompSyscalls = Pick<Native, 'prctl' | 'seccomp' | 'address'>;

export type SeccompInstallStep = 'program' | 'action' | 'no_new_privs' | 'filter';

export class SeccompInstallError extends TsvmmError {
  constructor(
    message: string,
    readonly step: SeccompInstallStep,
    /** errno name (e.g. "EINVAL") when a syscall failed. */
    readonly errno?: string,
    /** TID of the thread TSYNC could not synchronise. */
    readonly tid?: number,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }
}

/**
 * struct sock_fprog (include/uapi/linux/filter.h) on a 64-bit kernel:
 * unsigned short len at 0, 6 bytes of padding, struct sock_filter *filter at 8.
 */
const SOCK_FPROG = { LEN: 0, FILTER: 8, SIZE: 16 } as const;

/** Programs handed to the kernel stay referenced for the life of the process. */
const installed: Buffer[] = [];

function errnoName(err: unknown): string {
  return errnoCode(err) ?? 'unknown error';
}

/** The distinct actions a program can return, for SECCOMP_GET_ACTION_AVAIL. */
function returnedActions(bytes: Buffer): number[] {
  const actions = new Set<number>();
  for (const insn of decode(bytes)) {
    if (insn.code === (BPF.RET | BPF.K)) actions.add((insn.k & SECCOMP_RET.ACTION_FULL) >>> 0);
  }
  return [...actions];
}

/**
 * Installs `bytes` (struct sock_filter entries from buildSeccompProgram) on
 * all threads. Throws SeccompInstallError unless the kernel returned 0.
 */
export function installSeccomp(bytes: Buffer, sys: SeccompSyscalls = native): void {
  const count = bytes.length / SOCK_FILTER_SIZE;
  if (!Number.isInteger(count) || count < 1 || count > BPF_MAXINSNS) {
    throw new SeccompInstallError(`a seccomp program of ${bytes.length} bytes is not 1..${BPF_MAXINSNS} instructions`, 'program');
  }

  // A kernel that lacks an action (KILL_PROCESS arrived in 4.14, LOG in 4.14)
  // would treat it as KILL_THREAD and let the rest of the process run on.
  for (const action of returnedActions(bytes)) {
    const arg = Buffer.alloc(4);
    arg.writeUInt32LE(action, 0);
    try {
      sys.seccomp(SECCOMP_OP.GET_ACTION_AVAIL, 0, arg);
    } catch (err) {
      const name = errnoName(err);
      throw new SeccompInstallError(`seccomp action 0x${action.toString(16)} is not available: ${name}`, 'action', name, undefined, { cause: err });
    }
  }

  try {
    sys.prctl(PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  } catch (err) {
    const name = errnoName(err);
    throw new SeccompInstallError(`prctl(PR_SET_NO_NEW_PRIVS) failed: ${name}`, 'no_new_privs', name, undefined, { cause: err });
  }

  const fprog = Buffer.alloc(SOCK_FPROG.SIZE);
  fprog.writeUInt16LE(count, SOCK_FPROG.LEN);
  fprog.writeBigUInt64LE(sys.address(bytes), SOCK_FPROG.FILTER);
  installed.push(bytes);

  let result: number;
  try {
    result = sys.seccomp(SECCOMP_OP.SET_MODE_FILTER, SECCOMP_FILTER_FLAG.TSYNC, fprog);
  } catch (err) {
    const name = errnoName(err);
    throw new SeccompInstallError(`seccomp(SECCOMP_SET_MODE_FILTER, TSYNC) failed: ${name}`, 'filter', name, undefined, { cause: err });
  }
  if (result > 0) {
    throw new SeccompInstallError(
      `seccomp(SECCOMP_SET_MODE_FILTER, TSYNC) could not synchronise thread ${result}; no thread is filtered`,
      'filter',
      undefined,
      result,
    );
  }
  if (result !== 0) throw new SeccompInstallError(`seccomp(SECCOMP_SET_MODE_FILTER, TSYNC) returned ${result}`, 'filter');
}
