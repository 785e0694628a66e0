// --seccomp on a running VM: every thread of the VMM process is filtered
// (Seccomp: 2, NoNewPrivs: 1) while the guest runs and uses its devices, and
// the guest still finishes normally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvmUnavailable, TSVMM, runTsvmm } from '../helpers/tsvmm.js';
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
