// Live: a Firecracker API supervisor sealed with the API policy
// (KILL_PROCESS) serves a whole session, drives its VMM child (spawned before
// the seal) over IPC, then kills and reaps it, removes its socket and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_PAYLOAD } from './server.js';
import { STUB_CTRL_ALT_DEL_ERROR } from './stub_vmm_child.fixture.js';
import { FC_EXPECTED, FC_SEQUENCE, httpCall, parseRawResponse, rawCall } from './firecracker.fixture.js';

const CHILD = fileURLToPath(new URL('./seal_child.fixture.js', import.meta.url));
const LIVE = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');
const SKIP = !LIVE && 'needs Linux on x86_64 or arm64';
const dir = mkdtempSync(join(tmpdir(), 'tsvmm-api-seal-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Sealed {
  proc: ChildProcess;
  socketPath: string;
  events: Array<Record<string, unknown>>;
  stderr: () => string;
  sealed: { pid: number; childPid: number; instructions: number };
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startSealed(): Promise<Sealed> {
  const socketPath = join(dir, `api${Date.now()}.sock`);
  const proc = spawn(process.execPath, [CHILD, 'kill', socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Array<Record<string, unknown>> = [];
  let err = '';
  let buf = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const sealed = await new Promise<Sealed['sealed']>((resolve, reject) => {
    proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const e = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
        buf = buf.slice(i + 1);
        events.push(e);
        if (e['event'] === 'sealed') resolve(e as unknown as Sealed['sealed']);
      }
    });
    void exit.then((x) => reject(new Error(`the sealed supervisor exited early (${x.code ?? x.signal}): ${err}`)));
  });
  return { proc, socketPath, events, stderr: () => err, sealed, exit };
}

/** Seccomp and NoNewPrivs of every thread of `pid`. */
function threadStatus(pid: number): Array<{ seccomp: string; noNewPrivs: string }> {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const text = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    return { seccomp: /^Seccomp:\s*(\d+)/m.exec(text)?.[1] ?? 'missing', noNewPrivs: /^NoNewPrivs:\s*(\d+)/m.exec(text)?.[1] ?? 'missing' };
  });
}

test('sealed API supervisor: a whole session, then it kills and reaps its VMM child and exits 0', { skip: SKIP }, async () => {
  const s = await startSealed();
  try {
    const { pid, childPid, instructions } = s.sealed;
    assert.ok(instructions > 0);
    const threads = threadStatus(pid);
    assert.ok(threads.length >= 2);
    for (const t of threads) assert.deepEqual(t, { seccomp: '2', noNewPrivs: '1' });

    for (const step of FC_SEQUENCE) {
      const a = await httpCall(s.socketPath, step.method, step.path, step.body);
      assert.equal(a.status, 204, `${step.method} ${step.path}: ${a.text}`);
    }
    // The VMM child received the config over IPC (JSON: undefined fields are dropped).
    const got = s.events.find((e) => e['event'] === 'child-got-config');
    assert.deepEqual(got?.['config'], JSON.parse(JSON.stringify({ ...FC_EXPECTED, seccomp: 'kill' })));

    assert.equal((await httpCall(s.socketPath, 'GET', '/')).json?.['state'], 'Running');
    assert.equal((await httpCall(s.socketPath, 'PATCH', '/vm', { state: 'Paused' })).status, 204);
    assert.equal((await httpCall(s.socketPath, 'GET', '/')).json?.['state'], 'Paused');
    assert.equal((await httpCall(s.socketPath, 'PATCH', '/vm', { state: 'Resumed' })).status, 204);
    assert.equal((await httpCall(s.socketPath, 'PUT', '/actions', { action_type: 'FlushMetrics' })).status, 204);
    const cad = await httpCall(s.socketPath, 'PUT', '/actions', { action_type: 'SendCtrlAltDel' });
    assert.equal(cad.json?.['fault_message'], `PUT /actions: ${STUB_CTRL_ALT_DEL_ERROR}`);

    const bad: Array<[string, string, unknown]> = [
      ['PUT', '/machine-config', '{"vcpu_count": '],
      ['PUT', '/drives/rootfs', { drive_id: 'rootfs', path_on_host: '/r', is_root_device: true, speed: 1 }],
      ['PATCH', '/vm', { state: 0 }],
      ['GET', '/no/such/path', undefined],
      ['PUT', '/boot-source', { kernel_image_path: '/other' }],
      ['PUT', '/boot-source', `{"kernel_image_path": "${'k'.repeat(DEFAULT_MAX_PAYLOAD)}"}`],
    ];
    for (const [method, path, body] of bad) {
      const a = await httpCall(s.socketPath, method, path, body);
      assert.equal(a.status, 400, `${method} ${path}`);
      assert.equal(typeof a.json?.['fault_message'], 'string');
    }
    const late = parseRawResponse((await rawCall(s.socketPath, 'PUT /actions HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{', 5000)).text);
    assert.equal(late.status, 400);
    const negative = parseRawResponse((await rawCall(s.socketPath, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\n', 5000)).text);
    assert.equal(negative.status, 400);
    assert.equal((await httpCall(s.socketPath, 'GET', '/machine-config')).json?.['vcpu_count'], 2);

    // Still sealed, still alive; the stub VMM child is alive too.
    for (const t of threadStatus(pid)) assert.equal(t.seccomp, '2');
    assert.ok(existsSync(`/proc/${childPid}`));

    s.proc.kill('SIGTERM');
    const end = await s.exit;
    assert.deepEqual(end, { code: 0, signal: null }, s.stderr());
    assert.deepEqual(s.events.find((e) => e['event'] === 'done')?.['child'], { code: null, signal: 'SIGTERM' });
    assert.equal(existsSync(`/proc/${childPid}`), false, 'the VMM child was reaped');
    assert.equal(existsSync(s.socketPath), false, 'the socket file was removed');
    assert.match(s.stderr(), /stub vmm: waiting for its config/);
    assert.match(s.stderr(), /tsvmm: boot_args: dropped pci=off/);
  } finally {
    s.proc.kill('SIGKILL');
  }
});

test('sealed API supervisor: a call outside the policy kills it with SIGSYS', { skip: SKIP }, async () => {
  const s = await startSealed();
  try {
    assert.equal((await httpCall(s.socketPath, 'GET', '/')).status, 200);
    s.proc.kill('SIGUSR2');
    const end = await s.exit;
    assert.deepEqual(end, { code: null, signal: 'SIGSYS' });
    assert.equal(s.events.find((e) => e['event'] === 'probe'), undefined, 'socket() never returned');
  } finally {
    s.proc.kill('SIGKILL');
    // The stub child ends when its IPC channel closes; make sure, by pid, if it is still ours.
    const cmdline = `/proc/${s.sealed.childPid}/cmdline`;
    if (existsSync(cmdline) && readFileSync(cmdline, 'utf8').includes('stub_vmm_child')) process.kill(s.sealed.childPid, 'SIGKILL');
  }
});
