// The API over its real Unix socket, with Node's http client and raw
// requests, against a fake controller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiSocketError } from './errors.js';
import { DEFAULT_MAX_PAYLOAD, SOCKET_MODE, startApiServer, type ApiServer } from './server.js';
import { FakeController, FC_EXPECTED, FC_SEQUENCE, httpCall, parseRawResponse, rawCall, type HttpAnswer } from './firecracker.fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvmm-api-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

const BODY_TIMEOUT_MS = 300;

async function serve(): Promise<{ server: ApiServer; path: string; controller: FakeController; log: string[] }> {
  const path = join(dir, `api${counter++}.sock`);
  const controller = new FakeController();
  const log: string[] = [];
  const server = await startApiServer({ socketPath: path, controller, log: (l) => log.push(l), id: 'test-vm', bodyTimeoutMs: BODY_TIMEOUT_MS });
  return { server, path, controller, log };
}

function assertFault(a: HttpAnswer, pattern: RegExp): void {
  assert.equal(a.status, 400, a.text);
  assert.equal(a.headers['content-type'], 'application/json');
  assert.equal(Number(a.headers['content-length']), Buffer.byteLength(a.text));
  assert.match(String(a.json?.['fault_message']), pattern);
}

test('http: the Firecracker sequence produces the expected VmConfig; GET / is Running, then Paused', async () => {
  const { server, path, controller, log } = await serve();
  try {
    const before = await httpCall(path, 'GET', '/');
    assert.equal(before.status, 200);
    assert.equal(Number(before.headers['content-length']), Buffer.byteLength(before.text));
    assert.equal(before.json?.['state'], 'Not started');
    for (const s of FC_SEQUENCE) {
      const a = await httpCall(path, s.method, s.path, s.body);
      assert.equal(a.status, 204, `${s.method} ${s.path}: ${a.text}`);
      assert.equal(a.text, '');
    }
    assert.deepEqual(controller.calls, [{ op: 'start', config: FC_EXPECTED }]);
    assert.match(log.join('\n'), /dropped pci=off/);
    assert.deepEqual((await httpCall(path, 'GET', '/')).json, { id: 'test-vm', state: 'Running', vmm_version: '0.1.0', app_name: 'tsvmm' });
    assert.equal((await httpCall(path, 'PATCH', '/vm', { state: 'Paused' })).status, 204);
    assert.equal((await httpCall(path, 'GET', '/')).json?.['state'], 'Paused');
    assert.deepEqual(controller.calls.map((c) => c.op), ['start', 'pause']);
  } finally {
    await server.close();
  }
});

test('http: bad requests get a 400 with a fault_message and leave the controller alone', async () => {
  const { server, path, controller } = await serve();
  try {
    for (const s of FC_SEQUENCE) await httpCall(path, s.method, s.path, s.body);
    const calls = controller.calls.length;
    assertFault(await httpCall(path, 'PUT', '/machine-config', '{"vcpu_count": 2'), /not valid JSON/);
    assertFault(await httpCall(path, 'PATCH', '/vm', { state: 'Paused', force: true }), /force: unknown field/);
    assertFault(await httpCall(path, 'PATCH', '/vm', { state: 1 }), /state: expected one of Paused, Resumed, got 1/);
    assertFault(await httpCall(path, 'PUT', '/boot-source', { kernel_image_path: '/other' }), /not supported after starting the microVM/);
    assertFault(await httpCall(path, 'GET', '/no/such/path'), /Invalid request method and\/or path: GET \/no\/such\/path/);
    assertFault(await httpCall(path, 'DELETE', '/drives/rootfs'), /Invalid request method and\/or path: DELETE/);
    assertFault(await httpCall(path, 'PUT', '/vsock', { guest_cid: 3, uds_path: '/v.sock' }), /tsvmm does not support vsock devices/);
    assert.equal(controller.calls.length, calls);
    assert.equal(controller.state, 'Running');
    assert.equal((await httpCall(path, 'GET', '/')).json?.['state'], 'Running');
  } finally {
    await server.close();
  }
});

test('socket: mode 0600 even under umask 0, and removed when the server closes', async () => {
  const old = process.umask(0);
  let s: Awaited<ReturnType<typeof serve>>;
  try {
    s = await serve();
  } finally {
    process.umask(old);
  }
  assert.equal(process.umask(), old, 'the umask is restored');
  const st = statSync(s.path);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, SOCKET_MODE);
  await s.server.close();
  assert.equal(existsSync(s.path), false);
});

test('socket: an existing path is a clear ApiSocketError and is left as it was', async () => {
  const path = join(dir, 'taken.sock');
  writeFileSync(path, 'not a socket');
  await assert.rejects(
    startApiServer({ socketPath: path, controller: new FakeController(), log: () => {} }),
    (e: unknown) =>
      e instanceof ApiSocketError && e.code === 'EADDRINUSE' && e.path === path && !e.message.includes('\n') && e.message.includes(`${path} already exists`),
  );
  assert.equal(readFileSync(path, 'utf8'), 'not a socket');
  // A live server's socket is refused the same way, and keeps serving.
  const { server, path: live } = await serve();
  try {
    await assert.rejects(startApiServer({ socketPath: live, controller: new FakeController(), log: () => {} }), ApiSocketError);
    assert.equal((await httpCall(live, 'GET', '/')).status, 200);
  } finally {
    await server.close();
  }
  await assert.rejects(
    startApiServer({ socketPath: join(dir, 'no-such-dir', 'api.sock'), controller: new FakeController(), log: () => {} }),
    (e: unknown) => e instanceof ApiSocketError && e.code === 'ENOENT' && /cannot create the API socket .*: directory .*no-such-dir does not exist$/.test(e.message),
  );
});

test('http: a body shorter than its Content-Length gets a 400 after the timeout; the server goes on', async () => {
  const { server, path } = await serve();
  try {
    const t0 = Date.now();
    const r = await rawCall(path, 'PUT /actions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{"action_', 10 * BODY_TIMEOUT_MS);
    const elapsed = Date.now() - t0;
    assert.ok(r.closedByServer, 'the server closes the connection');
    assert.ok(elapsed >= BODY_TIMEOUT_MS - 50 && elapsed < 5 * BODY_TIMEOUT_MS, `${elapsed} ms`);
    const parsed = parseRawResponse(r.text);
    assert.equal(parsed.status, 400);
    assert.match(String(parsed.json?.['fault_message']), /9 of 100 bytes after 300 ms/);
    assert.equal((await httpCall(path, 'GET', '/')).status, 200);
  } finally {
    await server.close();
  }
});

test('http: oversized, negative-length and chunked bodies are refused with a 400', async () => {
  const { server, path, controller } = await serve();
  try {
    const big = `{"kernel_image_path": "${'x'.repeat(DEFAULT_MAX_PAYLOAD)}"}`;
    assertFault(await httpCall(path, 'PUT', '/boot-source', big), new RegExp(`size ${big.length} is larger than the limit of ${DEFAULT_MAX_PAYLOAD}`));
    const negative = parseRawResponse((await rawCall(path, 'PUT /actions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 2000)).text);
    assert.equal(negative.status, 400);
    assert.match(String(negative.json?.['fault_message']), /Malformed HTTP request/);
    const chunked = parseRawResponse(
      (await rawCall(path, 'PUT /actions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n', 2000)).text,
    );
    assert.equal(chunked.status, 400);
    assert.match(String(chunked.json?.['fault_message']), /Transfer-Encoding chunked is not supported/);
    const head = Buffer.from('PUT /boot-source HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n');
    const notUtf8 = parseRawResponse((await rawCall(path, Buffer.concat([head, Buffer.from([0x7b, 0xff, 0x7d])]), 300)).text);
    assert.equal(notUtf8.status, 400);
    assert.match(String(notUtf8.json?.['fault_message']), /PUT \/boot-source: the body is not UTF-8 text/);
    assert.equal(controller.calls.length, 0);
    assert.equal((await httpCall(path, 'GET', '/machine-config')).status, 200);
  } finally {
    await server.close();
  }
});

test('http: keep-alive connections do not hold close() open', async () => {
  const { server, path } = await serve();
  const r = await rawCall(path, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 200);
  assert.equal(parseRawResponse(r.text).status, 200);
  assert.equal(r.closedByServer, false, 'the connection stays open (keep-alive)');
  const t0 = Date.now();
  await server.close();
  assert.ok(Date.now() - t0 < 2000);
});
