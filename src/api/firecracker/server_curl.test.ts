// The same API driven with curl --unix-socket, as Firecracker's docs drive
// it. curl is in .ci/run's package list; without it these tests fail (they
// are not skipped: the API must work with the client its users have).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startApiServer } from './server.js';
import { FakeController, FC_EXPECTED, FC_SEQUENCE } from './firecracker.fixture.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tsvmm-api-curl-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Marks the end of the body in curl's output, followed by the status code. */
const STATUS_MARK = '\n--status:';

/** One request with curl (asynchronously: the server runs in this process). */
async function curl(socket: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  const args = ['--silent', '--show-error', '--unix-socket', socket, '-X', method, `http://localhost${path}`, '--write-out', `${STATUS_MARK}%{http_code}`];
  if (body !== undefined) args.push('-H', 'Accept: application/json', '-H', 'Content-Type: application/json', '--data', typeof body === 'string' ? body : JSON.stringify(body));
  const { stdout } = await run('curl', args, { timeout: 10_000 });
  const at = stdout.lastIndexOf(STATUS_MARK);
  assert.ok(at >= 0, `no status in curl output: ${stdout}`);
  return { status: Number(stdout.slice(at + STATUS_MARK.length)), body: stdout.slice(0, at) };
}

test('curl: the Firecracker sequence, GET / Running then Paused, and the 400s', async () => {
  const socketPath = join(dir, 'api.sock');
  const controller = new FakeController();
  const server = await startApiServer({ socketPath, controller, log: () => {} });
  try {
    const info = await curl(socketPath, 'GET', '/');
    assert.equal(info.status, 200);
    assert.equal(JSON.parse(info.body).state, 'Not started');
    for (const s of FC_SEQUENCE) {
      const r = await curl(socketPath, s.method, s.path, s.body);
      assert.deepEqual(r, { status: 204, body: '' }, `${s.method} ${s.path}`);
    }
    assert.deepEqual(controller.calls, [{ op: 'start', config: FC_EXPECTED }]);
    assert.equal(JSON.parse((await curl(socketPath, 'GET', '/')).body).state, 'Running');
    assert.equal((await curl(socketPath, 'PATCH', '/vm', { state: 'Paused' })).status, 204);
    assert.equal(JSON.parse((await curl(socketPath, 'GET', '/')).body).state, 'Paused');

    const bad: Array<[string, string, unknown, RegExp]> = [
      ['PUT', '/machine-config', '{"vcpu_count":', /not valid JSON/],
      ['PATCH', '/vm', { state: 'Paused', when: 'now' }, /when: unknown field/],
      ['PATCH', '/vm', { state: true }, /state: expected one of Paused, Resumed, got true/],
      ['PUT', '/drives/extra', { drive_id: 'extra', path_on_host: '/x.img', is_root_device: false }, /not supported after starting the microVM/],
      ['GET', '/snapshots', undefined, /Invalid request method and\/or path: GET \/snapshots/],
    ];
    for (const [method, path, body, pattern] of bad) {
      const r = await curl(socketPath, method, path, body);
      assert.equal(r.status, 400, `${method} ${path}`);
      assert.match(JSON.parse(r.body).fault_message, pattern);
    }
    assert.deepEqual(controller.calls.map((c) => c.op), ['start', 'pause']);
    assert.equal(controller.state, 'Paused');
  } finally {
    await server.close();
  }
});
