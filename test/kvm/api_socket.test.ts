// `tsvmm --api-sock`: Firecracker's REST API over the real socket, driving a
// real VM (the echo test guest, a disk and a TAP), with Node's http client
// and with curl; and `--config-file`, which boots the same VM as the flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvmUnavailable, runTsvmm, TSVMM } from '../helpers/tsvmm.js';
import { guestDir } from '../helpers/guests.js';
import { ConsoleReader } from '../helpers/console_wait.js';
import { httpCall } from '../../src/api/firecracker/firecracker.fixture.js';

const skip = kvmUnavailable() ?? false;
const dir = mkdtempSync(join(tmpdir(), 'tsvmm-apisock-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const echo = `${guestDir()}/echo.elf`;
/** Every tsvmm a test started: a test that fails half-way leaves none behind to keep the file's process alive. */
const children: ChildProcess[] = [];
test.afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function start(args: string[]): { child: ChildProcess; out: ConsoleReader; err: ConsoleReader; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [TSVMM, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  children.push(child);
  return { child, out: new ConsoleReader(child.stdout!), err: new ConsoleReader(child.stderr!), exited };
}

async function socketUp(path: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`no API socket at ${path} within 60 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** curl --unix-socket, as Firecracker's docs drive the API: status code and body. */
function curl(sock: string, method: string, path: string, body?: unknown): { status: number; json: Record<string, unknown> | undefined } {
  const args = ['-s', '--unix-socket', sock, '-X', method, '-w', '\n%{http_code}', `http://localhost${path}`];
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '-d', JSON.stringify(body));
  const out = execFileSync('curl', args, { encoding: 'utf8' });
  const nl = out.lastIndexOf('\n');
  const text = out.slice(0, nl);
  return { status: Number(out.slice(nl + 1)), json: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
}

for (const seccomp of [false, true]) {
  test(`--api-sock${seccomp ? ' --seccomp' : ''}: the Firecracker sequence boots the VM; GET / follows PATCH /vm; bad requests get 400 and the VM runs on`, { skip, timeout: 600_000 }, async () => {
    const sock = join(dir, `api${seccomp ? '-sc' : ''}.sock`);
    const metrics = join(dir, `metrics${seccomp ? '-sc' : ''}.jsonl`);
    const image = join(dir, `disk${seccomp ? '-sc' : ''}.img`);
    writeFileSync(image, Buffer.alloc(64 * 512));
    const vmm = start(['--api-sock', sock, '--id', 'tsvmm-test', '--metrics', metrics, ...(seccomp ? ['--seccomp'] : [])]);
    await socketUp(sock);
    assert.equal(statSync(sock).mode & 0o777, 0o600, 'the socket is 0600');
    const call = async (method: string, path: string, body?: unknown) => {
      try {
        return await httpCall(sock, method, path, body);
      } catch (err) {
        throw new Error(`${method} ${path}: ${(err as Error).message}; tsvmm's stderr so far: ${vmm.err.text}`, { cause: err });
      }
    };
    assert.deepEqual((await call('GET', '/')).json, { id: 'tsvmm-test', state: 'Not started', vmm_version: (await call('GET', '/')).json!['vmm_version'], app_name: 'tsvmm' });
    assert.equal((await call('PUT', '/machine-config', { vcpu_count: 2, mem_size_mib: 64 })).status, 204);
    assert.equal((await call('PUT', '/boot-source', { kernel_image_path: echo, boot_args: 'tsvmm.api=1 pci=off' })).status, 204);
    assert.equal((await call('PUT', '/drives/scratch', { drive_id: 'scratch', path_on_host: image, is_root_device: false, is_read_only: false })).status, 204);
    assert.equal((await call('PUT', '/network-interfaces/eth0', { iface_id: 'eth0', host_dev_name: `tapi${seccomp ? 's' : 'p'}${process.pid % 1000}` })).status, 204);
    const started = await call('PUT', '/actions', { action_type: 'InstanceStart' });
    assert.equal(started.status, 204, started.text + vmm.err.text);
    await vmm.out.waitFor(/READY/, 120_000);

    assert.equal((await call('GET', '/')).json!['state'], 'Running');
    assert.equal(curl(sock, 'PATCH', '/vm', { state: 'Paused' }).status, 204);
    assert.equal(curl(sock, 'GET', '/').json!['state'], 'Paused');
    assert.equal((await call('PATCH', '/vm', { state: 'Resumed' })).status, 204);
    assert.equal((await call('GET', '/')).json!['state'], 'Running');
    assert.deepEqual((await call('GET', '/machine-config')).json, { vcpu_count: 2, mem_size_mib: 64, smt: false, track_dirty_pages: false, huge_pages: 'None' });

    for (const [what, r] of [
      ['malformed JSON', await call('PUT', '/machine-config', '{"vcpu_count": 1,')],
      ['an unknown field', await call('PATCH', '/vm', { state: 'Paused', colour: 'blue' })],
      ['a wrong type', await call('PATCH', '/vm', { state: 7 })],
      ['a post-boot PUT', await call('PUT', '/boot-source', { kernel_image_path: echo })],
      ['an unknown path', await call('GET', '/no/such/thing')],
      ['an unsupported endpoint', await call('PUT', '/snapshot/create', { snapshot_path: 'x', mem_file_path: 'y' })],
    ] as const) {
      assert.equal(r.status, 400, `${what}: ${r.text}`);
      assert.equal(typeof r.json?.['fault_message'], 'string', `${what}: a fault_message`);
    }
    const curlBad = curl(sock, 'PUT', '/boot-source', { kernel_image_path: echo });
    assert.equal(curlBad.status, 400);
    assert.match(String(curlBad.json!['fault_message']), /after starting the microVM/);

    const mark = vmm.out.text.length;
    vmm.child.stdin!.write('still here');
    await vmm.out.waitFor(/STILL HERE/, 60_000, mark);
    assert.equal((await call('PUT', '/actions', { action_type: 'FlushMetrics' })).status, 204);
    const flushed = readFileSync(metrics, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { vcpus: Array<Record<string, number>>; devices: Record<string, unknown> });
    assert.equal(flushed.length, 1);
    assert.equal(flushed[0]!.vcpus.length, 2);
    assert.deepEqual(Object.keys(flushed[0]!.devices).sort(), ['blk0', 'net0']);
    assert.ok((flushed[0]!.vcpus[0]!['io'] ?? 0) > 0);

    if (seccomp) {
      // The API process and the VMM process: every thread of both carries a filter.
      const vmmPid = Number(readFileSync(`/proc/${vmm.child.pid}/task/${vmm.child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
      for (const pid of [vmm.child.pid!, vmmPid]) {
        for (const tid of readdirSync(`/proc/${pid}/task`)) {
          assert.match(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'), /^Seccomp:\s+2$/m, `pid ${pid} thread ${tid} is filtered`);
        }
      }
    }

    vmm.child.stdin!.end('q');
    assert.equal(await vmm.exited, 0, vmm.err.text);
    assert.match(vmm.out.text, /BYE/);
    assert.equal(existsSync(sock), false, 'the socket is removed when tsvmm ends');
    assert.equal(readFileSync(metrics, 'utf8').trim().split('\n').length, 2, 'and the last counters are written at exit');
  });
}

test('--config-file boots the same VM as the flags', { skip, timeout: 300_000 }, async () => {
  const file = join(dir, 'vm.json');
  writeFileSync(file, JSON.stringify({ 'boot-source': { kernel_image_path: echo, boot_args: 'tsvmm.from=file' }, drives: [], 'machine-config': { vcpu_count: 1, mem_size_mib: 64 } }));
  const viaFile = await runTsvmm(['--config-file', file], { input: 'same vm\nq', timeoutMs: 120_000 });
  const viaFlags = await runTsvmm(['-k', echo, '-m', '64M', '--append', 'tsvmm.from=file'], { input: 'same vm\nq', timeoutMs: 120_000 });
  assert.equal(viaFile.code, 0, viaFile.stderr);
  assert.equal(viaFlags.code, 0, viaFlags.stderr);
  assert.match(viaFile.stdout, /READY[\s\S]*SAME VM[\s\S]*BYE/);
  assert.equal(viaFile.stdout, viaFlags.stdout);
});

test('--metrics-interval writes the counters while the VM runs, and the last ones at exit', { skip, timeout: 300_000 }, async () => {
  const metrics = join(dir, 'interval.jsonl');
  const vmm = start(['-k', echo, '-m', '64M', '--metrics', metrics, '--metrics-interval', '1']);
  await vmm.out.waitFor(/READY/, 120_000);
  const lines = (): Array<{ utc_timestamp_ms: number; vcpus: Array<Record<string, number>> }> =>
    existsSync(metrics) ? readFileSync(metrics, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { utc_timestamp_ms: number; vcpus: Array<Record<string, number>> }) : [];
  const deadline = Date.now() + 120_000;
  while (lines().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const running = lines();
  assert.ok(running.length >= 2, `two lines while the guest runs, got ${running.length}`);
  assert.ok(running[1]!.utc_timestamp_ms > running[0]!.utc_timestamp_ms);
  vmm.child.stdin!.end('q');
  assert.equal(await vmm.exited, 0, vmm.err.text);
  const all = lines();
  assert.ok(all.length > running.length, 'a last line at exit');
  assert.ok((all.at(-1)!.vcpus[0]!['io'] ?? 0) >= (running.at(-1)!.vcpus[0]!['io'] ?? 0), 'counters only grow');
});
