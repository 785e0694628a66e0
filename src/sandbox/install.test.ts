import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { installSeccomp, SeccompInstallError, type SeccompSyscalls } from './install.js';
import { buildSeccompProgram } from './program.js';
import { ERRNO, VCPU_KICK_SIGNAL } from '../native/linux.js';
import { PR, SECCOMP_FILTER_FLAG, SECCOMP_OP, SECCOMP_RET } from './constants.js';

const PROGRAM = buildSeccompProgram('x86_64', { ioctls: [0xae80], mode: 'kill', pid: 4242 }).bytes;
const FAKE_ADDRESS = 0x7f0012345670n;

interface Call {
  fn: string;
  args: unknown[];
}

/** A fake addon: records calls; `filter` decides what SET_MODE_FILTER does. */
function fake(filter: () => number, opts: { prctlFails?: boolean; actionFails?: boolean } = {}): { sys: SeccompSyscalls; calls: Call[] } {
  const calls: Call[] = [];
  const fail = (code: string): never => {
    throw Object.assign(new Error(`${code} from fake`), { code, errno: 1 });
  };
  const sys: SeccompSyscalls = {
    address: () => FAKE_ADDRESS,
    prctl: (...args) => {
      calls.push({ fn: 'prctl', args });
      if (opts.prctlFails === true) fail('EPERM');
      return 0;
    },
    seccomp: (op, flags, data) => {
      calls.push({ fn: 'seccomp', args: [op, flags, Buffer.from(data as Uint8Array)] });
      if (op === SECCOMP_OP.GET_ACTION_AVAIL) return opts.actionFails === true ? fail('EOPNOTSUPP') : 0;
      return filter();
    },
  };
  return { sys, calls };
}

test('install sets no_new_privs, then the filter with TSYNC and a sock_fprog', () => {
  const { sys, calls } = fake(() => 0);
  installSeccomp(PROGRAM, sys);
  const actions = calls.filter((c) => c.fn === 'seccomp' && c.args[0] === SECCOMP_OP.GET_ACTION_AVAIL);
  const checked = actions.map((c) => (c.args[2] as Buffer).readUInt32LE(0)).sort();
  assert.deepEqual(checked, [SECCOMP_RET.ALLOW, SECCOMP_RET.ERRNO, SECCOMP_RET.KILL_PROCESS].sort());
  const rest = calls.slice(actions.length);
  assert.deepEqual(rest[0], { fn: 'prctl', args: [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0] });
  const install = rest[1] as Call;
  assert.equal(install.args[0], SECCOMP_OP.SET_MODE_FILTER);
  assert.equal(install.args[1], SECCOMP_FILTER_FLAG.TSYNC);
  const fprog = install.args[2] as Buffer;
  assert.equal(fprog.length, 16);
  assert.equal(fprog.readUInt16LE(0), PROGRAM.length / 8);
  assert.equal(fprog.readBigUInt64LE(8), FAKE_ADDRESS);
  assert.equal(rest.length, 2);
});

test('a positive TSYNC result is a failure naming the thread', () => {
  const { sys } = fake(() => 4242);
  assert.throws(
    () => installSeccomp(PROGRAM, sys),
    (e: unknown) => e instanceof SeccompInstallError && e.tid === 4242 && /thread 4242/.test(e.message) && e.step === 'filter',
  );
});

test('a failed seccomp() names the errno and keeps the cause', () => {
  const cause = Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
  const { sys } = fake(() => {
    throw cause;
  });
  assert.throws(
    () => installSeccomp(PROGRAM, sys),
    (e: unknown) => e instanceof SeccompInstallError && e.errno === 'EINVAL' && e.cause === cause && /EINVAL/.test(e.message),
  );
});

test('no filter is attempted when no_new_privs or an action is unavailable', () => {
  const a = fake(() => 0, { prctlFails: true });
  assert.throws(() => installSeccomp(PROGRAM, a.sys), (e: unknown) => e instanceof SeccompInstallError && e.step === 'no_new_privs' && e.errno === 'EPERM');
  const b = fake(() => 0, { actionFails: true });
  assert.throws(() => installSeccomp(PROGRAM, b.sys), (e: unknown) => e instanceof SeccompInstallError && e.step === 'action');
  for (const { calls } of [a, b]) {
    assert.equal(calls.some((c) => c.args[0] === SECCOMP_OP.SET_MODE_FILTER && c.fn === 'seccomp'), false);
  }
});

test('a program that is not whole instructions is refused before any syscall', () => {
  const { sys, calls } = fake(() => 0);
  assert.throws(() => installSeccomp(PROGRAM.subarray(0, 12), sys), (e: unknown) => e instanceof SeccompInstallError && e.step === 'program');
  assert.throws(() => installSeccomp(Buffer.alloc(0), sys), SeccompInstallError);
  assert.equal(calls.length, 0);
});

// Live: a child process installs the real policy for this machine.

const CHILD = fileURLToPath(new URL('./install_child.js', import.meta.url));
const LIVE = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');
const SKIP = !LIVE && 'needs Linux on x86_64 or arm64';

interface ChildRun {
  code: number | null;
  signal: string | null;
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

function runChild(mode: 'kill' | 'log', action: string): Promise<ChildRun> {
  return new Promise((resolve) => {
    // cwd: a temporary directory, in case an abort leaves a core file.
    execFile(process.execPath, [CHILD, mode, action], { cwd: tmpdir(), timeout: 60_000 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: string | null }) | null;
      const lines = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : null, signal: e?.signal ?? null, lines, stderr });
    });
  });
}

interface Installed {
  workerTids: number[];
  threads: Array<{ tid: number; seccomp: string; noNewPrivs: string }>;
}

/** Every thread, the two Workers included, runs filtered with no_new_privs. */
function assertAllThreadsFiltered(run: ChildRun): void {
  const installed = run.lines.find((l) => l['event'] === 'installed') as Installed | undefined;
  assert.ok(installed, `no install report; stderr: ${run.stderr}`);
  assert.ok(installed.threads.length >= 3, `${installed.threads.length} threads`);
  for (const t of installed.threads) {
    assert.equal(t.seccomp, '2', `thread ${t.tid} Seccomp`);
    assert.equal(t.noNewPrivs, '1', `thread ${t.tid} NoNewPrivs`);
  }
  const tids = installed.threads.map((t) => t.tid);
  for (const w of installed.workerTids) assert.ok(tids.includes(w), `worker ${w} not among the threads`);
}

const result = (run: ChildRun): Record<string, unknown> | undefined => run.lines.find((l) => l['event'] === 'result');

test('live: a denied syscall in a Worker started before install kills the process with SIGSYS', { skip: SKIP }, async () => {
  const run = await runChild('kill', 'denied');
  assertAllThreadsFiltered(run);
  assert.equal(run.signal, 'SIGSYS', `code ${run.code}, stderr: ${run.stderr}`);
  assert.equal(result(run), undefined);
});

test('live: an allowed syscall in that Worker runs, and the process exits 0', { skip: SKIP }, async () => {
  const run = await runChild('kill', 'allowed');
  assertAllThreadsFiltered(run);
  assert.equal(run.signal, null, run.stderr);
  assert.equal(run.code, 0, run.stderr);
  const r = result(run) as { results: number[]; tid: number };
  assert.deepEqual(r.results, [r.tid]); // gettid() returned the Worker's own tid
});

test('live: clone3 and io_uring_setup answer ENOSYS instead of killing', { skip: SKIP }, async () => {
  const run = await runChild('kill', 'enosys');
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual((result(run) as { results: number[] }).results, [-ERRNO.ENOSYS, -ERRNO.ENOSYS]);
});

test('live: the vCPU kick (tgkill of this process with VCPU_KICK_SIGNAL, rt_sigtimedwait) runs under the filter', { skip: SKIP }, async () => {
  const run = await runChild('kill', 'kick');
  assert.equal(run.signal, null, run.stderr);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual((result(run) as { results: number[] }).results, [0, VCPU_KICK_SIGNAL], 'tgkill sent it, rt_sigtimedwait took it');
});

for (const call of ['tgkill-other', 'tkill']) {
  test(`live: ${call === 'tkill' ? 'tkill' : 'tgkill into another process'}, even with SIGABRT, kills the process with SIGSYS`, { skip: SKIP }, async () => {
    const run = await runChild('kill', call);
    assert.equal(run.signal, 'SIGSYS', `code ${run.code}, result ${JSON.stringify(result(run))}, stderr: ${run.stderr}`);
    assert.equal(result(run), undefined);
  });
}

/** Runs the child with `action`, sends it SIGUSR1 once it reports the install, and collects the run. */
function runChildSignalled(action: string): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, 'kill', action], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!sent && stdout.includes('"event":"installed"')) {
        sent = true;
        child.kill('SIGUSR1');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => {
      const lines = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, signal, lines, stderr });
    });
  });
}

test('live: SIGUSR1 to a sealed process whose inspector trigger was replaced: one line, no inspector, exit 0', { skip: SKIP }, async () => {
  const run = await runChildSignalled('sigusr1');
  assertAllThreadsFiltered(run);
  assert.equal(run.signal, null, `died of ${run.signal}; stderr: ${run.stderr}`);
  assert.equal(run.code, 0, run.stderr);
  const logs = run.lines.filter((l) => l['event'] === 'log');
  assert.equal(logs.length, 1);
  assert.match(String(logs[0]!['line']), /SIGUSR1 ignored/);
  assert.equal(result(run)?.['inspector'], null, 'no inspector started');
  assert.doesNotMatch(run.stderr, /Debugger listening/);
});

test('live: without it, SIGUSR1 starts Node\'s inspector, whose socket the filter kills (SIGSYS)', { skip: SKIP }, async () => {
  const run = await runChildSignalled('sigusr1-bare');
  assert.equal(run.signal, 'SIGSYS', `code ${run.code}, stderr: ${run.stderr}`);
  assert.equal(result(run), undefined);
});

test('live: abort() after install dies of SIGABRT, not SIGSYS', { skip: SKIP }, async () => {
  const run = await runChild('kill', 'abort');
  assertAllThreadsFiltered(run);
  assert.equal(run.signal, 'SIGABRT', `code ${run.code}`);
});

test('live: in log mode the denied syscall runs and the process survives', { skip: SKIP }, async () => {
  const run = await runChild('log', 'denied');
  assertAllThreadsFiltered(run);
  assert.equal(run.code, 0, run.stderr);
  const fd = (result(run) as { results: number[] }).results[0] as number;
  assert.ok(fd >= 0, `socket() returned ${fd}`);
});
