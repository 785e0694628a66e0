// The API supervisor's program, run in the BPF interpreter: what it allows,
// what it checks, what it kills.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRNO } from '../../native/linux.js';
import { decode } from '../bpf.js';
import { AUDIT_ARCH, F, MSG, SHUT, SIG, SOCK } from '../constants.js';
import { checkSeccompProgram, describeAction, runSeccomp } from '../interp.fixture.js';
import { buildPolicyProgram, SeccompPolicyError, type SeccompArch } from '../program.js';
import { apiPolicyFor } from './api.js';

/** TCGETS and FIONBIO (asm-generic/ioctls.h); TIOCSTI would push input into the terminal; KVM_RUN is the VMM's. */
const IOCTL = { TCGETS: 0x5401, FIONBIO: 0x5421, TIOCSTI: 0x5412, KVM_RUN: 0xae80 } as const;
const CHILD = 4242;
const OTHER = 1;
const SIGTERM = 15n;
const SHUT_RDWR = 2n;
const AT_REMOVEDIR = 0x200n;
const ARCHES: readonly SeccompArch[] = ['x86_64', 'aarch64'];

function setup(arch: SeccompArch, mode: 'kill' | 'log' = 'kill') {
  const policy = apiPolicyFor(arch);
  const program = buildPolicyProgram(policy, { ioctls: [IOCTL.TCGETS, IOCTL.FIONBIO], mode, childPids: [CHILD], pid: process.pid });
  const nr = (name: string): number => {
    const n = (policy.syscalls as Record<string, number | undefined>)[name];
    assert.notEqual(n, undefined, `${arch} has no number for ${name}`);
    return n as number;
  };
  const call = (name: string, ...args: bigint[]): string => describeAction(runSeccomp(program.bytes, { arch: policy.auditArch, nr: nr(name), args }));
  return { policy, program, call };
}

for (const arch of ARCHES) {
  test(`API ${arch}: a valid filter, well under the kernel's limit`, () => {
    const { program } = setup(arch);
    checkSeccompProgram(decode(program.bytes));
    assert.ok(program.instructions < 150, `${program.instructions} instructions`);
  });

  test(`API ${arch}: kill and wait4 only for the child spawned before the seal`, () => {
    const { call } = setup(arch);
    assert.equal(call('kill', BigInt(CHILD), SIGTERM), 'ALLOW');
    assert.equal(call('kill', BigInt(OTHER), SIGTERM), 'KILL_PROCESS');
    assert.equal(call('kill', 0xffffffffn, SIGTERM), 'KILL_PROCESS'); // kill(-1): every process
    assert.equal(call('kill', 0n, SIGTERM), 'KILL_PROCESS'); // kill(0): the process group
    assert.equal(call('kill', (1n << 32n) | BigInt(CHILD), SIGTERM), 'KILL_PROCESS');
    assert.equal(call('wait4', BigInt(CHILD), 0x7f00n, 1n, 0n), 'ALLOW');
    assert.equal(call('wait4', 0xffffffffn, 0x7f00n, 1n, 0n), 'KILL_PROCESS'); // waitpid(-1)
  });

  test(`API ${arch}: accept4, recvmsg, shutdown, fcntl, tgkill only as libuv and glibc call them`, () => {
    const { call } = setup(arch);
    assert.equal(call('accept4', 19n, 0n, 0n, BigInt(SOCK.CLOEXEC | SOCK.NONBLOCK)), 'ALLOW');
    assert.equal(call('accept4', 19n, 0n, 0n, 0n), 'KILL_PROCESS');
    assert.equal(call('recvmsg', 20n, 0x7f00n, BigInt(MSG.CMSG_CLOEXEC)), 'ALLOW');
    assert.equal(call('recvmsg', 20n, 0x7f00n, 0n), 'KILL_PROCESS');
    assert.equal(call('shutdown', 21n, BigInt(SHUT.WR)), 'ALLOW');
    assert.equal(call('shutdown', 21n, SHUT_RDWR), 'KILL_PROCESS');
    assert.equal(call('fcntl', 1n, BigInt(F.SETFL), 0x800n), 'ALLOW');
    assert.equal(call('fcntl', 1n, 0n), 'KILL_PROCESS'); // F_DUPFD
    assert.equal(call('tgkill', 1n, 2n, BigInt(SIG.ABRT)), 'ALLOW');
    assert.equal(call('tgkill', 1n, 2n, SIGTERM), 'KILL_PROCESS');
  });

  test(`API ${arch}: only terminal ioctls; no sockets, processes, files or KVM`, () => {
    const { call } = setup(arch);
    assert.equal(call('ioctl', 0n, BigInt(IOCTL.TCGETS)), 'ALLOW');
    assert.equal(call('ioctl', 0n, BigInt(IOCTL.TIOCSTI)), 'KILL_PROCESS');
    assert.equal(call('ioctl', 5n, BigInt(IOCTL.KVM_RUN)), 'KILL_PROCESS');
    for (const name of ['socket', 'connect', 'bind', 'listen', 'sendmsg', 'execve', 'execveat', 'clone', 'ptrace', 'process_vm_writev', 'memfd_create', 'preadv', 'pwritev', 'mount', 'setuid']) {
      assert.equal(call(name, 1n, 2n, 3n), 'KILL_PROCESS', name);
    }
    assert.equal(call('clone3'), 'KILL_PROCESS');
    assert.equal(call('openat', 0xffffff9cn, 0x7f00n, 0n), `ERRNO(${ERRNO.EACCES})`);
    assert.equal(call('epoll_pwait'), 'ALLOW');
    assert.equal(call('writev'), 'ALLOW');
  });

  test(`API ${arch}: log mode logs instead of killing; a foreign architecture is still killed`, () => {
    const { call, policy, program } = setup(arch, 'log');
    assert.equal(call('kill', BigInt(OTHER), SIGTERM), 'LOG');
    assert.equal(call('socket', 1n, 1n, 0n), 'LOG');
    const foreign = arch === 'x86_64' ? AUDIT_ARCH.I386 : AUDIT_ARCH.ARM;
    const read = (policy.syscalls as Record<string, number>)['read'] as number;
    assert.equal(describeAction(runSeccomp(program.bytes, { arch: foreign, nr: read })), 'KILL_PROCESS');
  });
}

test('API x86_64: unlink for the socket file; aarch64: unlinkat without AT_REMOVEDIR', () => {
  assert.equal(setup('x86_64').call('unlink', 0x7f00n), 'ALLOW');
  assert.equal(setup('x86_64').call('unlinkat', 0xffffff9cn, 0x7f00n, 0n), 'KILL_PROCESS');
  const arm = setup('aarch64');
  assert.equal(arm.call('unlinkat', 0xffffffffffffff9cn, 0x7f00n, 0n), 'ALLOW');
  assert.equal(arm.call('unlinkat', 0xffffffffffffff9cn, 0x7f00n, AT_REMOVEDIR), 'KILL_PROCESS');
});

test('a policy with childPid rules needs the pids, and they must be process ids', () => {
  const policy = apiPolicyFor('x86_64');
  assert.throws(() => buildPolicyProgram(policy, { ioctls: [], mode: 'kill', pid: process.pid }), (e: unknown) => e instanceof SeccompPolicyError && /kill, wait4 need the child pids/.test(e.message));
  assert.throws(() => buildPolicyProgram(policy, { ioctls: [], mode: 'kill', childPids: [0], pid: process.pid }), /child pid 0 is not a process id/);
  assert.throws(() => buildPolicyProgram(policy, { ioctls: [], mode: 'kill', childPids: [-5], pid: process.pid }), SeccompPolicyError);
  // No children: every kill and wait4 is refused.
  const { bytes } = buildPolicyProgram(policy, { ioctls: [], mode: 'kill', childPids: [], pid: process.pid });
  const kill = (policy.syscalls as Record<string, number>)['kill'] as number;
  assert.equal(describeAction(runSeccomp(bytes, { arch: AUDIT_ARCH.X86_64, nr: kill, args: [BigInt(CHILD), SIGTERM] })), 'KILL_PROCESS');
});
