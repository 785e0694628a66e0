// Compiles an architecture's policy (policy/*.ts) into a seccomp BPF program.
//
// Program shape (every jump computed by the assembler):
//   A = seccomp_data.arch;  arch != policy arch        -> KILL_PROCESS
//   A = seccomp_data.nr;    nr == -1                   -> ALLOW
//                           x86_64: nr >= x32 bit      -> KILL_PROCESS
//   for each entry, hot ones first:
//     nr == N -> ALLOW | ERRNO(e) | its argument-check block
//   default                                            -> violation action
//   argument blocks: each ends in its own ALLOW and violation returns, so
//   every conditional jump stays short; the chain reaches a block with `ja`.
//
// The violation action is KILL_PROCESS in 'kill' mode and LOG in 'log' mode
// (--seccomp=log: the kernel logs the call and lets it run, to find what a
// policy misses). A foreign architecture or an x32 number is killed in both
// modes: no code path in a 64-bit Node process makes those calls, they are
// the classic way around a syscall filter, and logging them finds no missing
// entry.

import { BpfAssembler } from './bpf.js';
import { SECCOMP_DATA, SECCOMP_RET, X32_SYSCALL_BIT, argHigh, argLow } from './constants.js';
import { POLICY_AARCH64 } from './policy/aarch64.js';
import type { ArchPolicy, ArgValue, PolicyEntry, SeccompArch, SyscallRule } from './policy/types.js';
import { POLICY_X86_64 } from './policy/x86_64.js';
import { TsvmmError } from '../base/errors.js';

export type { SeccompArch };

export type SeccompMode = 'kill' | 'log';

export interface SeccompProgramOptions {
  /**
   * ioctl request numbers to allow (KVM, TUN and terminal requests from their
   * modules). 32-bit values; a negative int32 (as `|` produces for requests
   * with bit 31 set) is taken as the same 32 bits. They are compared in the
   * order given, so list KVM_RUN first. At most 253 fit one block of short
   * jumps; more fail at build time with BpfJumpRangeError.
   */
  readonly ioctls: readonly number[];
  readonly mode: SeccompMode;
  /**
   * Process ids for the policy's `childPid` rules (kill, wait4 in the API
   * supervisor's policy): the children spawned before the seal. Required by
   * a policy that has such rules; an empty list refuses every call.
   */
  readonly childPids?: readonly number[];
  /**
   * The process the filter is for (process.pid): rules that name OWN_PID
   * (tgkill's target) compare with it. The filter is built at run time for
   * exactly this reason; it stays valid because a seccomp filter never
   * outlives its process's exec (there is none after the seal).
   */
  readonly pid: number;
}

export interface SeccompProgram {
  readonly arch: SeccompArch;
  readonly mode: SeccompMode;
  /** struct sock_filter entries, ready for installSeccomp(). */
  readonly bytes: Buffer;
  /** Number of BPF instructions (bytes.length / 8). */
  readonly instructions: number;
}

export class SeccompPolicyError extends TsvmmError {
}

/**
 * The ioctl request is arg1. The kernel reads it as `unsigned int cmd`
 * (fs/ioctl.c), so only the low half selects the request; we still require a
 * zero high half so the check is exact. Every caller we have passes a
 * zero-extended request: the addon casts through `unsigned int`, glibc callers
 * in Node and libuv pass small positive constants.
 */
const IOCTL_REQUEST_ARG = 1;

/**
 * nr -1 (as u32): a ptrace tracer skipping a call (strace --inject, gdb)
 * sets it before seccomp runs; the kernel executes nothing for it and returns
 * ENOSYS or the tracer's value. Killing it would kill a traced VMM for no
 * gain, so it passes, as libseccomp lets it pass.
 */
const SKIPPED_SYSCALL = 0xffffffff;

const POLICIES: Readonly<Record<SeccompArch, ArchPolicy>> = {
  x86_64: POLICY_X86_64,
  aarch64: POLICY_AARCH64,
};

/** The policy table for one architecture. */
export function policyFor(arch: SeccompArch): ArchPolicy {
  return POLICIES[arch];
}

/** The architecture this Node process runs on, as the policies name it. */
export function hostSeccompArch(): SeccompArch {
  if (process.arch === 'x64') return 'x86_64';
  if (process.arch === 'arm64') return 'aarch64';
  throw new SeccompPolicyError(`no seccomp policy for architecture ${process.arch}`);
}

function u32List(values: readonly number[], what: string): number[] {
  const out = new Set<number>();
  for (const v of values) {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new SeccompPolicyError(`${what}: ${v} is not a 32-bit value`);
    out.add(v >>> 0);
  }
  return [...out];
}

function checkPolicy(policy: ArchPolicy): void {
  const seen = new Map<number, string>();
  for (const e of policy.allow) {
    const nr = (policy.syscalls as Record<string, number | undefined>)[e.name];
    if (nr === undefined) throw new SeccompPolicyError(`${policy.arch}: no number for ${e.name}`);
    const other = seen.get(nr);
    if (other !== undefined) throw new SeccompPolicyError(`${policy.arch}: ${e.name} and ${other} both have number ${nr}`);
    seen.set(nr, e.name);
  }
}

/** PID_MAX_LIMIT (include/linux/threads.h): no process id reaches 2^22. */
const PID_MAX_LIMIT = 4 * 1024 * 1024;

/** Builds the VMM's seccomp program for `arch` (not necessarily the host's). */
export function buildSeccompProgram(arch: SeccompArch, opts: SeccompProgramOptions): SeccompProgram {
  return buildPolicyProgram(policyFor(arch), opts);
}

/** The pids a policy's childPid rules compare with; refuses a policy that needs them when none are given. */
function childPidList(policy: ArchPolicy, opts: SeccompProgramOptions): number[] {
  const needed = policy.allow.filter((e) => e.rule?.kind === 'childPid').map((e) => e.name);
  if (needed.length === 0) return [];
  if (opts.childPids === undefined) throw new SeccompPolicyError(`${policy.arch}: ${needed.join(', ')} need the child pids (childPids)`);
  for (const pid of opts.childPids) {
    if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) throw new SeccompPolicyError(`child pid ${pid} is not a process id`);
  }
  return [...new Set(opts.childPids)];
}

/** Builds the seccomp program for any policy table (the VMM's, the API supervisor's). */
export function buildPolicyProgram(policy: ArchPolicy, opts: SeccompProgramOptions): SeccompProgram {
  const arch = policy.arch;
  checkPolicy(policy);
  const childPids = childPidList(policy, opts);
  const ioctls = u32List(opts.ioctls, 'ioctl request');
  const pid = opts.pid;
  if (!Number.isInteger(pid) || pid <= 0 || pid > PID_MAX_LIMIT) throw new SeccompPolicyError(`process id ${pid} is not a pid`);
  const resolve = (values: readonly ArgValue[], what: string): number[] => u32List(values.map((v) => (typeof v === 'number' ? v : pid)), what);
  const violation = opts.mode === 'kill' ? SECCOMP_RET.KILL_PROCESS : SECCOMP_RET.LOG;
  const nrOf = (e: PolicyEntry): number => (policy.syscalls as Record<string, number>)[e.name] as number;

  const a = new BpfAssembler();
  a.ldAbsW(SECCOMP_DATA.ARCH).jeq(policy.auditArch, 'arch_ok').ret(SECCOMP_RET.KILL_PROCESS);
  a.label('arch_ok').ldAbsW(SECCOMP_DATA.NR).jeq(SKIPPED_SYSCALL, 'allow');
  if (policy.rejectX32) a.jge(X32_SYSCALL_BIT, null, 'nr_ok').ret(SECCOMP_RET.KILL_PROCESS).label('nr_ok');

  const blocks: Array<{ entry: PolicyEntry; rule: Exclude<SyscallRule, { kind: 'errno' }> }> = [];
  const errnos = new Set<number>();
  for (const e of policy.allow) {
    const nr = nrOf(e);
    const rule = e.rule;
    if (rule === undefined) {
      a.jeq(nr, 'allow');
    } else if (rule.kind === 'errno') {
      errnos.add(rule.errno);
      a.jeq(nr, `errno_${rule.errno}`);
    } else {
      a.jeq(nr, null, `skip_${e.name}`).ja(`rule_${e.name}`).label(`skip_${e.name}`);
      blocks.push({ entry: e, rule });
    }
  }
  a.ret(violation);
  a.label('allow').ret(SECCOMP_RET.ALLOW);
  for (const errno of errnos) a.label(`errno_${errno}`).ret((SECCOMP_RET.ERRNO | (errno & SECCOMP_RET.DATA)) >>> 0);

  for (const { entry, rule } of blocks) {
    const name = entry.name;
    a.label(`rule_${name}`);
    if (rule.kind === 'flags') {
      a.ldAbsW(argLow(rule.arg));
      if (rule.noneOf !== 0) a.jset(rule.noneOf >>> 0, `deny_${name}`);
      for (const bit of bitsOf(rule.allOf)) a.jset(bit, null, `deny_${name}`);
      a.ret(SECCOMP_RET.ALLOW);
      a.label(`deny_${name}`).ret(violation);
    } else if (rule.kind === 'argsIn') {
      // One check after another: each jumps on to the next when its argument
      // matches, and falls through to the shared deny otherwise.
      rule.args.forEach(({ arg, values }, i) => {
        const next = i === rule.args.length - 1 ? `allow_${name}` : `check_${name}_${i + 1}`;
        if (i > 0) a.label(`check_${name}_${i}`);
        a.ldAbsW(argHigh(arg)).jeq(0, null, `deny_${name}`);
        a.ldAbsW(argLow(arg));
        for (const v of resolve(values, `${name} argument ${arg}`)) a.jeq(v, next);
        a.ja(`deny_${name}`);
      });
      a.label(`deny_${name}`).ret(violation);
      a.label(`allow_${name}`).ret(SECCOMP_RET.ALLOW);
    } else {
      const arg = rule.kind === 'ioctlRequest' ? IOCTL_REQUEST_ARG : rule.arg;
      const values =
        rule.kind === 'ioctlRequest' ? ioctls : rule.kind === 'childPid' ? childPids : u32List(rule.values, `${name} argument`);
      a.ldAbsW(argHigh(arg)).jeq(0, null, `deny_${name}`);
      a.ldAbsW(argLow(arg));
      for (const v of values) a.jeq(v, `allow_${name}`);
      a.label(`deny_${name}`).ret(violation);
      a.label(`allow_${name}`).ret(SECCOMP_RET.ALLOW);
    }
  }

  const bytes = a.assemble();
  return { arch, mode: opts.mode, bytes, instructions: a.length };
}

/** The single-bit masks set in a 32-bit value, low to high. */
function bitsOf(mask: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 32; i++) {
    const bit = (1 << i) >>> 0;
    if ((mask & bit) !== 0) out.push(bit);
  }
  return out;
}

