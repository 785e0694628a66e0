import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRNO, VCPU_KICK_SIGNAL } from '../native/linux.js';
import { BpfJumpRangeError, decode } from './bpf.js';
import { AUDIT_ARCH, CLONE, F, SECCOMP_RET, SIG, X32_SYSCALL_BIT } from './constants.js';
import { checkSeccompProgram, describeAction, runSeccomp, type SeccompInput } from './interp.fixture.js';
import { buildSeccompProgram, hostSeccompArch, policyFor, SeccompPolicyError, type SeccompArch } from './program.js';

/** ioctl requests for these tests: KVM_RUN, KVM_GET_REGS (bit 31 set), TCGETS. */
const IOCTL = { KVM_RUN: 0xae80, KVM_GET_REGS: 0x8090ae81, TCGETS: 0x5401, TIOCSTI: 0x5412, KVM_CREATE_VM: 0xae01 } as const;
const IOCTLS = [IOCTL.KVM_RUN, IOCTL.KVM_GET_REGS, IOCTL.TCGETS];
/** The process id the programs here are built for (the VMM passes its own). */
const PID = 4242;
/** Flags glibc's pthread_create passes to clone (seen in strace): VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID. */
const PTHREAD_CLONE_FLAGS = 0x3d0f00;
/** fork() as clone(SIGCHLD): no CLONE_THREAD. */
const FORK_CLONE_FLAGS = 0x11;
const ARCHES: readonly SeccompArch[] = ['x86_64', 'aarch64'];
const FOREIGN: Record<SeccompArch, number[]> = {
  x86_64: [AUDIT_ARCH.I386, AUDIT_ARCH.AARCH64, AUDIT_ARCH.ARM],
  aarch64: [AUDIT_ARCH.ARM, AUDIT_ARCH.X86_64, AUDIT_ARCH.I386],
};
const { EACCES, ENOSYS } = ERRNO;
/** fcntl commands and a signal the policy refuses (asm-generic/fcntl.h, signal.h). */
const F_DUPFD = 0n;
const F_SETOWN = 8n;
const SIGKILL = 9n;

function setup(arch: SeccompArch, mode: 'kill' | 'log' = 'kill') {
  const policy = policyFor(arch);
  const { bytes } = buildSeccompProgram(arch, { ioctls: IOCTLS, mode, pid: PID });
  const nr = (name: string): number => {
    const n = (policy.syscalls as Record<string, number | undefined>)[name];
    assert.notEqual(n, undefined, `${arch} has no number for ${name}`);
    return n as number;
  };
  const run = (input: Partial<SeccompInput> & { nr: number }): string =>
    describeAction(runSeccomp(bytes, { arch: policy.auditArch, ...input }));
  const call = (name: string, ...args: bigint[]): string => run({ nr: nr(name), args });
  return { policy, bytes, nr, run, call };
}

/** What the policy says a bare call (all arguments 0) gets, when it has no argument check. */
function expected(rule: { kind: string; errno?: number } | undefined): string {
  if (rule === undefined) return 'ALLOW';
  if (rule.kind === 'errno') return `ERRNO(${rule.errno})`;
  return 'checked';
}

for (const arch of ARCHES) {
  test(`${arch}: the program is a valid seccomp filter within the kernel's limit`, () => {
    const { bytes } = setup(arch);
    const program = buildSeccompProgram(arch, { ioctls: IOCTLS, mode: 'kill', pid: PID });
    assert.equal(program.instructions, bytes.length / 8);
    assert.ok(program.instructions < 200, `${program.instructions} instructions`);
    checkSeccompProgram(decode(bytes));
  });

  test(`${arch}: every allowed syscall is allowed, every canned one gets its errno`, () => {
    const { policy, call } = setup(arch);
    for (const e of policy.allow) {
      const want = expected(e.rule);
      if (want !== 'checked') assert.equal(call(e.name), want, e.name);
    }
    assert.equal(call('clone3'), `ERRNO(${ENOSYS})`);
    assert.equal(call('io_uring_setup'), `ERRNO(${ENOSYS})`);
    assert.equal(call('openat'), `ERRNO(${EACCES})`);
  });

  test(`${arch}: dangerous syscalls are killed`, () => {
    const { call } = setup(arch);
    const names = [
      'execve', 'execveat', 'openat2', 'socket', 'connect', 'ptrace', 'mount', 'unlinkat', 'kexec_load',
      'kexec_file_load', 'process_vm_writev', 'process_vm_readv', 'bpf', 'setuid', 'init_module', 'finit_module',
      'reboot', 'chroot', 'pivot_root', 'setns', 'unshare', 'userfaultfd', 'perf_event_open', 'keyctl',
      'personality', 'memfd_create', 'kill', 'sendmsg', 'bind', 'listen', 'accept4', 'prctl', 'seccomp',
      'mremap', 'pkey_mprotect', 'io_uring_enter', 'io_uring_register', 'tkill',
    ];
    if (arch === 'x86_64') names.push('open', 'unlink', 'fork', 'vfork', 'epoll_wait', 'ppoll');
    // Path-based stat on both: nothing after the seal stats a path (fstat(fd) is its own syscall; see aarch64.ts).
    names.push('newfstatat');
    for (const name of names) assert.equal(call(name, 1n, 2n, 3n), 'KILL_PROCESS', name);
  });

  test(`${arch}: every number outside the policy is killed (sweep 0..1023)`, () => {
    const { policy, run } = setup(arch);
    const inPolicy = new Set(policy.allow.map((e) => (policy.syscalls as Record<string, number>)[e.name]));
    for (let n = 0; n < 1024; n++) {
      if (!inPolicy.has(n)) assert.equal(run({ nr: n }), 'KILL_PROCESS', `nr ${n}`);
    }
    // -1 is a tracer skipping the call: nothing runs, so it passes (as with libseccomp).
    assert.equal(run({ nr: -1 }), 'ALLOW');
    assert.equal(run({ nr: -2 }), 'KILL_PROCESS');
  });

  test(`${arch}: a foreign architecture is killed, in log mode too`, () => {
    for (const mode of ['kill', 'log'] as const) {
      const { policy, run } = setup(arch, mode);
      for (const foreign of FOREIGN[arch]) {
        for (const e of policy.allow) {
          const n = (policy.syscalls as Record<string, number>)[e.name] as number;
          assert.equal(run({ nr: n, arch: foreign }), 'KILL_PROCESS', `${mode} ${e.name} as 0x${foreign.toString(16)}`);
        }
      }
    }
  });

  test(`${arch}: ioctl only with a listed request and a zero high half`, () => {
    const { call } = setup(arch);
    assert.equal(call('ioctl', 3n, BigInt(IOCTL.KVM_RUN)), 'ALLOW');
    assert.equal(call('ioctl', 3n, BigInt(IOCTL.KVM_GET_REGS), 0x7f0000001000n), 'ALLOW');
    assert.equal(call('ioctl', 0n, BigInt(IOCTL.TCGETS)), 'ALLOW');
    assert.equal(call('ioctl', 0n, BigInt(IOCTL.TIOCSTI)), 'KILL_PROCESS');
    assert.equal(call('ioctl', 3n, BigInt(IOCTL.KVM_CREATE_VM)), 'KILL_PROCESS');
    assert.equal(call('ioctl', 3n, (1n << 32n) | BigInt(IOCTL.KVM_RUN)), 'KILL_PROCESS');
    assert.equal(call('ioctl', 3n, 0xffffffff00000000n | BigInt(IOCTL.KVM_GET_REGS)), 'KILL_PROCESS');
  });

  test(`${arch}: clone only makes threads, never namespaces`, () => {
    const { call } = setup(arch);
    assert.equal(call('clone', BigInt(PTHREAD_CLONE_FLAGS)), 'ALLOW');
    // The kernel reads only the low half of clone's flags, so the high half is not checked.
    assert.equal(call('clone', (0xdeadn << 32n) | BigInt(PTHREAD_CLONE_FLAGS)), 'ALLOW');
    assert.equal(call('clone', BigInt(FORK_CLONE_FLAGS)), 'KILL_PROCESS');
    assert.equal(call('clone', 0n), 'KILL_PROCESS');
    assert.equal(call('clone', BigInt(PTHREAD_CLONE_FLAGS | CLONE.NEWUSER)), 'KILL_PROCESS');
    assert.equal(call('clone', BigInt(PTHREAD_CLONE_FLAGS | CLONE.NEWNET)), 'KILL_PROCESS');
  });

  test(`${arch}: tgkill only to this process, only SIGABRT or the vCPU kick; tkill never; rt_sigtimedwait allowed`, () => {
    const { call } = setup(arch);
    const own = BigInt(PID);
    assert.equal(call('tgkill', own, 101n, BigInt(SIG.ABRT)), 'ALLOW');
    assert.equal(call('tgkill', own, 101n, BigInt(VCPU_KICK_SIGNAL)), 'ALLOW');
    assert.equal(call('tgkill', own, 101n, SIGKILL), 'KILL_PROCESS');
    assert.equal(call('tgkill', own, 101n, (1n << 32n) | BigInt(SIG.ABRT)), 'KILL_PROCESS');
    // Another process, whatever the signal: the filter's own pid input decides.
    assert.equal(call('tgkill', own + 1n, 101n, BigInt(SIG.ABRT)), 'KILL_PROCESS');
    assert.equal(call('tgkill', 1n, 1n, BigInt(VCPU_KICK_SIGNAL)), 'KILL_PROCESS');
    assert.equal(call('tgkill', (1n << 32n) | own, 101n, BigInt(SIG.ABRT)), 'KILL_PROCESS');
    // tkill names no process: it could reach any thread on the host.
    assert.equal(call('tkill', 101n, BigInt(SIG.ABRT)), 'KILL_PROCESS');
    assert.equal(call('tkill', 101n, BigInt(VCPU_KICK_SIGNAL)), 'KILL_PROCESS');
    assert.equal(call('rt_sigtimedwait', 0x7f0000001000n, 0n, 0x7f0000002000n, 8n), 'ALLOW');
    const other = buildSeccompProgram(arch, { ioctls: IOCTLS, mode: 'kill', pid: PID + 7 }).bytes;
    const nr = policyFor(arch).syscalls as Record<string, number>;
    assert.equal(describeAction(runSeccomp(other, { nr: nr['tgkill'] as number, arch: policyFor(arch).auditArch, args: [own, 101n, BigInt(SIG.ABRT)] })), 'KILL_PROCESS', 'the pid is an input of the program');
  });

  test(`${arch}: newfstatat is killed even in its fd form (fstat(fd) reaches the fstat syscall)`, () => {
    const { call } = setup(arch);
    const AT_EMPTY_PATH = 0x1000n;
    assert.equal(call('newfstatat', 0n, 0x7f0000001000n, 0x7f0000002000n, AT_EMPTY_PATH), 'KILL_PROCESS');
    assert.equal(call('newfstatat', 0xffffff9cn, 0x7f0000001000n, 0x7f0000002000n, 0n), 'KILL_PROCESS');
    assert.equal(call('fstat', 2n, 0x7f0000002000n), 'ALLOW');
  });

  test(`${arch}: fcntl only for F_GETFL/F_SETFL`, () => {
    const { call } = setup(arch);
    assert.equal(call('fcntl', 0n, BigInt(F.GETFL)), 'ALLOW');
    assert.equal(call('fcntl', 0n, BigInt(F.SETFL), 0x800n), 'ALLOW');
    assert.equal(call('fcntl', 0n, F_DUPFD), 'KILL_PROCESS');
    assert.equal(call('fcntl', 0n, F_SETOWN), 'KILL_PROCESS');
  });

  test(`${arch}: log mode logs violations instead of killing`, () => {
    const { policy, call, run } = setup(arch, 'log');
    assert.equal(call('socket', 2n, 1n, 0n), 'LOG');
    assert.equal(call('execve'), 'LOG');
    assert.equal(call('ioctl', 0n, BigInt(IOCTL.TIOCSTI)), 'LOG');
    assert.equal(call('clone', BigInt(FORK_CLONE_FLAGS)), 'LOG');
    assert.equal(call('read'), 'ALLOW');
    assert.equal(call('ioctl', 3n, BigInt(IOCTL.KVM_RUN)), 'ALLOW');
    assert.equal(call('clone3'), `ERRNO(${ENOSYS})`);
    assert.equal(run({ nr: 0, arch: FOREIGN[arch][0] as number }), 'KILL_PROCESS');
    assert.equal(policy.arch, arch);
  });
}

test('x86_64: every policy number with the x32 bit is killed, in log mode too', () => {
  for (const mode of ['kill', 'log'] as const) {
    const { policy, run } = setup('x86_64', mode);
    for (const e of policy.allow) {
      const n = (policy.syscalls as Record<string, number>)[e.name] as number;
      assert.equal(run({ nr: (n | X32_SYSCALL_BIT) >>> 0, args: [0n, BigInt(IOCTL.KVM_RUN)] }), 'KILL_PROCESS', `${mode} ${e.name}`);
    }
  }
});

test('ioctl requests are validated and too many fail at build time', () => {
  assert.throws(() => buildSeccompProgram('x86_64', { ioctls: [1.5], mode: 'kill', pid: PID }), SeccompPolicyError);
  assert.throws(() => buildSeccompProgram('x86_64', { ioctls: [2 ** 32], mode: 'kill', pid: PID }), SeccompPolicyError);
  // A negative int32 (what `|` yields for bit 31) names the same request.
  const { bytes } = buildSeccompProgram('x86_64', { ioctls: [IOCTL.KVM_GET_REGS | 0], mode: 'kill', pid: PID });
  const r = runSeccomp(bytes, { nr: 16, arch: AUDIT_ARCH.X86_64, args: [3n, BigInt(IOCTL.KVM_GET_REGS)] });
  assert.equal(r, SECCOMP_RET.ALLOW);
  for (const pid of [0, -1, 1.5, 2 ** 31]) assert.throws(() => buildSeccompProgram('x86_64', { ioctls: [], mode: 'kill', pid }), SeccompPolicyError, `pid ${pid}`);
  const many = Array.from({ length: 300 }, (_, i) => 0xae00 + i);
  assert.throws(() => buildSeccompProgram('aarch64', { ioctls: many, mode: 'kill', pid: PID }), BpfJumpRangeError);
});

test('with no ioctl requests listed, every ioctl is killed', () => {
  const { bytes } = buildSeccompProgram('aarch64', { ioctls: [], mode: 'kill', pid: PID });
  const r = runSeccomp(bytes, { nr: 29, arch: AUDIT_ARCH.AARCH64, args: [0n, BigInt(IOCTL.TCGETS)] });
  assert.equal(r, SECCOMP_RET.KILL_PROCESS);
});

test('hostSeccompArch names this machine', () => {
  const want = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : undefined;
  if (want === undefined) assert.throws(() => hostSeccompArch(), SeccompPolicyError);
  else assert.equal(hostSeccompArch(), want);
});
