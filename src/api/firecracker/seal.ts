// Seals the API supervisor with its own seccomp policy
// (sandbox/policy/api.ts). Call it after the VMM child process is spawned
// and the API socket listens, and before the first request is served.

import { TERMINAL_IOCTLS } from '../../sandbox/policy/runtime_ioctls.js';
import { apiPolicyFor, buildPolicyProgram, hostSeccompArch, installSeccomp, type SeccompProgram } from '../../sandbox/index.js';

/**
 * The ioctl requests the supervisor may make after the seal: its terminal
 * (raw mode on and off, window size) and libuv's stdio calls.
 */
export const API_IOCTLS: readonly number[] = TERMINAL_IOCTLS;

export interface ApiSealOptions {
  readonly mode: 'kill' | 'log';
  /** The VMM child(ren) spawned before the seal: the only processes it may signal and reap. */
  readonly childPids: readonly number[];
}

/**
 * Does, before the seal, the one-time work Node would otherwise do lazily
 * in the middle of serving, with system calls the policy refuses: create
 * the stdout/stderr handles (fstat, getsockname, ioctl), and load the time
 * zone (V8 reads /etc/localtime on the first Date formatting, even
 * toUTCString). process.stdin is left alone: a caller that reads it must
 * touch it before sealing.
 */
export function warmUpBeforeSeal(): void {
  void process.stdout.writable;
  void process.stderr.writable;
  void new Date().getTimezoneOffset();
}

/**
 * Warms up (warmUpBeforeSeal), then installs the API policy on every thread
 * of this process. Throws SeccompInstallError (or SeccompPolicyError)
 * instead of serving unfiltered.
 */
export function sealApiProcess(options: ApiSealOptions): SeccompProgram {
  warmUpBeforeSeal();
  const program = buildPolicyProgram(apiPolicyFor(hostSeccompArch()), { ioctls: API_IOCTLS, mode: options.mode, childPids: options.childPids, pid: process.pid });
  installSeccomp(program.bytes);
  return program;
}
