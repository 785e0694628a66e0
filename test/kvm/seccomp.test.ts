// --seccomp on a running VM: every thread of the VMM process is filtered
// (Seccomp: 2, NoNewPrivs: 1) while the guest runs and uses its devices, and
// the guest still finishes normally; what the runtime could do behind the
// filter's back (io_uring rings, the inspector on SIGUSR1) cannot kill it.
import { test } from 'node:test';
import { defaultConfig } from '../../src/vmm/config.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvmUnavailable, ROOT, TSVMM, runTsvmm } from '../helpers/tsvmm.js';
import { guestDir } from '../helpers/guests.js';

const skip = kvmUnavailable() ?? false;

/** The VMM child of the supervisor with pid `pid`. */
function vmmPid(pid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return kids[0];
  } catch {
    return undefined;
  }
}

function threadStatus(pid: number): Array<{ tid: string; seccomp: string | undefined; nnp: string | undefined }> {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const s = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    return { tid, seccomp: /^Seccomp:\s+(\d+)/m.exec(s)?.[1], nnp: /^NoNewPrivs:\s+(\d+)/m.exec(s)?.[1] };
  });
}

test('with --seccomp every VMM thread is filtered while the guest runs, and console input still works', { skip, timeout: 180_000 }, async () => {
  const vm = spawn(process.execPath, [TSVMM, '-k', `${guestDir()}/echo.elf`, '-m', '64M', '--seccomp'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  vm.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  vm.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const until = async (cond: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 1200 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(cond(), `timed out waiting for ${what}; stdout: ${stdout} stderr: ${stderr}`);
  };
  await until(() => stdout.includes('READY'), 'the guest to be ready');
  assert.match(stderr, /seccomp: enforcing a \d+-instruction x86_64 allowlist on every thread/);
  const child = vmmPid(vm.pid!);
  assert.ok(child !== undefined, 'found the VMM process');
  const threads = threadStatus(child);
  assert.ok(threads.length >= 3, `main, vCPU and Node's threads: ${threads.length}`);
  for (const t of threads) {
    assert.equal(t.seccomp, '2', `thread ${t.tid} Seccomp`);
    assert.equal(t.nnp, '1', `thread ${t.tid} NoNewPrivs`);
  }
  const supervisor = threadStatus(vm.pid!);
  assert.ok(supervisor.every((t) => t.seccomp === '0'), 'the supervisor stays unfiltered');
  vm.stdin.end('sealed\nq');
  const code = await new Promise<number | null>((resolve) => vm.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.match(stdout, /SEALED/);
  assert.match(stdout, /BYE/);
});

test('with --seccomp a disk guest reads, writes and flushes, and exits 0', { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-sc-'));
  try {
    const image = join(dir, 'disk.img');
    writeFileSync(image, Buffer.alloc(64 * 512));
    const r = await runTsvmm(['-k', `${guestDir()}/blk.elf`, '-m', '64M', '-d', image, '--seccomp', '--append', 'blk.ring=packed blk.irq=msix'], { timeoutMs: 150_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /BLK OK/);
    assert.match(r.stdout, /blk: flush ok/);
    assert.equal(readFileSync(image)[10 * 512], 0xa5, 'the write reached the file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Starts `argv` (the echo guest), collecting its output; `until` polls for a condition (no result depends on the poll's timing). */
function startEcho(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const vm = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const out = { stdout: '', stderr: '' };
  vm.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  vm.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const until = async (cond: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 1200 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(cond(), `timed out waiting for ${what}; stdout: ${out.stdout} stderr: ${out.stderr}`);
  };
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => vm.on('close', (code, signal) => resolve({ code, signal })));
  return { vm, out, until, closed };
}

test('a sealed VMM sent SIGUSR1 starts no inspector and keeps running: the guest still echoes input', { skip, timeout: 180_000 }, async () => {
  const { vm, out, until, closed } = startEcho([TSVMM, '-k', `${guestDir()}/echo.elf`, '-m', '64M', '--seccomp']);
  await until(() => out.stdout.includes('READY') && /allowlist on every thread/.test(out.stderr), 'the sealed guest to be ready');
  const child = vmmPid(vm.pid!);
  assert.ok(child !== undefined, 'found the VMM process');
  process.kill(child, 'SIGUSR1');
  await until(() => /SIGUSR1 ignored/.test(out.stderr), 'the VMM to say it ignored SIGUSR1');
  vm.stdin.write('after\n');
  await until(() => out.stdout.includes('AFTER'), 'the echo after SIGUSR1');
  process.kill(child, 'SIGUSR1');
  vm.stdin.end('q');
  const { code } = await closed;
  assert.equal(code, 0, out.stderr);
  assert.match(out.stdout, /BYE/);
  assert.equal(out.stderr.match(/SIGUSR1 ignored/g)?.length, 1, 'said once');
  assert.doesNotMatch(out.stderr, /seccomp filter killed|Debugger listening/);
});

test('tsvmm --seccomp with UV_USE_IO_URING=1 in the environment: the VMM gets no io_uring ring and runs the guest', { skip, timeout: 180_000 }, async () => {
  const r = await runTsvmm(['-k', `${guestDir()}/echo.elf`, '-m', '64M', '--seccomp'], { env: { UV_USE_IO_URING: '1' }, input: 'ring\nq', timeoutMs: 150_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /RING/);
  assert.match(r.stdout, /BYE/);
});

test('a VMM started with an io_uring ring open refuses to seal: one line, exit 1', { skip, timeout: 180_000 }, async () => {
  // The VMM process itself, without the parent (api/process.ts) that clears UV_USE_IO_URING.
  const main = join(ROOT, 'dist', 'src', 'vmm', 'main.js');
  const vm = spawn(process.execPath, [main], { stdio: ['pipe', 'pipe', 'pipe', 'ipc'], env: { ...process.env, UV_USE_IO_URING: '1' } });
  const out = { stdout: '', stderr: '' };
  vm.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  vm.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => vm.on('close', (code, signal) => resolve({ code, signal })));
  const config = { ...defaultConfig(`${guestDir()}/echo.elf`), memoryBytes: 64 * 1024 * 1024, seccomp: 'kill' };
  vm.send({ type: 'start', config, consoleEscapes: false });
  vm.stdin!.end();
  const { code, signal } = await closed;
  assert.equal(signal, null, out.stderr);
  assert.equal(code, 1, out.stderr);
  // On a nested PVM host the VMM first says so (src/arch/x86_64/pvm.ts): a notice, not the error.
  const lines = out.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('tsvmm: nested PVM host'));
  assert.equal(lines.length, 1, out.stderr);
  assert.match(lines[0]!, /^tsvmm: seccomp: refusing to seal: io_uring rings? open \(fd \d+/);
  assert.doesNotMatch(out.stdout, /READY/, 'the guest never ran');
});
