import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FirecrackerApi, POST_BOOT_ONLY, PRE_BOOT_ONLY, type ApiResponse } from './api.js';
import type { VmController } from './controller.js';
import { FakeController, FC_EXPECTED, FC_SEQUENCE } from './firecracker.fixture.js';

function api(controller: VmController = new FakeController(), extra: { bootedConfig?: typeof FC_EXPECTED } = {}) {
  const log: string[] = [];
  const a = new FirecrackerApi({
    controller,
    id: 'vm-1',
    vmmVersion: '9.9.9',
    seccomp: 'off',
    limits: { hostMemoryBytes: 8 * 1024 ** 3 },
    log: (l) => log.push(l),
    ...extra,
  });
  const call = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    a.handle({ method, path, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  return { a, call, log };
}

function faultOf(r: ApiResponse): string {
  assert.equal(r.status, 400, JSON.stringify(r.body));
  const m = r.body?.['fault_message'];
  assert.equal(typeof m, 'string');
  return m as string;
}

async function boot(call: ReturnType<typeof api>['call']): Promise<void> {
  for (const s of FC_SEQUENCE) assert.equal((await call(s.method, s.path, s.body)).status, 204, `${s.method} ${s.path}`);
}

test('the Firecracker sequence boots the expected VmConfig, once', async () => {
  const c = new FakeController();
  const { call, log, a } = api(c);
  await boot(call);
  assert.deepEqual(c.calls, [{ op: 'start', config: FC_EXPECTED }]);
  assert.equal(a.started, true);
  assert.equal(log.length, 1);
  assert.match(log[0] as string, /pci=off/);
  assert.equal(faultOf(await call('PUT', '/actions', { action_type: 'InstanceStart' })), PRE_BOOT_ONLY);
  assert.equal(c.calls.length, 1);
});

test('GET / reports id, state and version; GET /version', async () => {
  const c = new FakeController();
  const { call } = api(c);
  assert.deepEqual((await call('GET', '/')).body, { id: 'vm-1', state: 'Not started', vmm_version: '9.9.9', app_name: 'tsvmm' });
  assert.deepEqual((await call('GET', '/version')).body, { firecracker_version: '9.9.9' });
  await boot(call);
  assert.equal((await call('GET', '/')).body?.['state'], 'Running');
  assert.equal((await call('PATCH', '/vm', { state: 'Paused' })).status, 204);
  assert.equal((await call('GET', '/')).body?.['state'], 'Paused');
  assert.equal((await call('PATCH', '/vm', { state: 'Resumed' })).status, 204);
  assert.deepEqual(c.calls.slice(1).map((x) => x.op), ['pause', 'resume']);
});

test('post-boot calls are refused before boot, pre-boot calls after it; the controller is not called', async () => {
  const c = new FakeController();
  const { call } = api(c);
  assert.equal(faultOf(await call('PATCH', '/vm', { state: 'Paused' })), POST_BOOT_ONLY);
  assert.equal(faultOf(await call('PUT', '/actions', { action_type: 'SendCtrlAltDel' })), POST_BOOT_ONLY);
  assert.equal(faultOf(await call('PUT', '/actions', { action_type: 'FlushMetrics' })), POST_BOOT_ONLY);
  assert.equal(c.calls.length, 0);
  await boot(call);
  for (const s of FC_SEQUENCE.slice(0, -1)) assert.equal(faultOf(await call(s.method, s.path, s.body)), PRE_BOOT_ONLY, s.path);
  assert.equal(faultOf(await call('PATCH', '/machine-config', { vcpu_count: 1 })), PRE_BOOT_ONLY);
  assert.equal(c.calls.length, 1);
  assert.equal(c.state, 'Running');
  // A bad body is a parse error even after boot (Firecracker parses before it checks the phase).
  assert.match(faultOf(await call('PUT', '/boot-source', { kernel: '/k' })), /kernel: unknown field/);
  // GET /machine-config after boot shows what booted.
  assert.deepEqual((await call('GET', '/machine-config')).body, { vcpu_count: 2, mem_size_mib: 256, smt: false, track_dirty_pages: false, huge_pages: 'None' });
});

test('post-boot actions reach the controller; its refusal becomes the fault message', async () => {
  const c = new FakeController();
  const { call } = api(c);
  await boot(call);
  assert.equal((await call('PUT', '/actions', { action_type: 'FlushMetrics' })).status, 204);
  c.failures.set('sendCtrlAltDel', 'this guest has no i8042 to receive Ctrl-Alt-Del');
  assert.match(faultOf(await call('PUT', '/actions', { action_type: 'SendCtrlAltDel' })), /PUT \/actions: this guest has no i8042/);
  assert.deepEqual(c.calls.map((x) => x.op), ['start', 'flushMetrics', 'sendCtrlAltDel']);
});

test('InstanceStart: no boot source is refused before the controller; a failed start stays pre-boot', async () => {
  const c = new FakeController();
  const { call, a } = api(c);
  assert.match(faultOf(await call('PUT', '/actions', { action_type: 'InstanceStart' })), /without kernel configuration/);
  assert.equal(c.calls.length, 0);
  await call('PUT', '/boot-source', { kernel_image_path: '/missing' });
  c.failures.set('start', 'kernel /missing: ENOENT');
  assert.equal(faultOf(await call('PUT', '/actions', { action_type: 'InstanceStart' })), 'Start microvm error: kernel /missing: ENOENT');
  assert.equal(a.started, false);
  c.failures.delete('start');
  assert.equal((await call('PUT', '/boot-source', { kernel_image_path: '/k' })).status, 204);
  assert.equal((await call('PUT', '/actions', { action_type: 'InstanceStart' })).status, 204);
  assert.deepEqual(c.calls.map((x) => x.config?.kernel), ['/missing', '/k']);
});

test('bodies: GET with one, PUT/PATCH without, malformed JSON, path id mismatch', async () => {
  const { call } = api();
  assert.equal(faultOf(await call('GET', '/', '{}')), 'GET request cannot have a body.');
  assert.equal(faultOf(await call('PUT', '/boot-source')), 'Empty PUT request.');
  assert.equal(faultOf(await call('PATCH', '/vm')), 'Empty PATCH request.');
  assert.match(faultOf(await call('PUT', '/machine-config', '{"vcpu_count": 2,')), /^PUT \/machine-config: the body is not valid JSON: /);
  assert.match(
    faultOf(await call('PUT', '/drives/a', { drive_id: 'b', path_on_host: '/b', is_root_device: false })),
    /drive_id: "b" does not match the id in the path \("a"\)/,
  );
  assert.match(faultOf(await call('PUT', '/drives/a%20b', { drive_id: 'a', path_on_host: '/b', is_root_device: false })), /drive_id in the path: "a%20b" may contain only/);
  assert.match(faultOf(await call('PUT', '/drives', { drive_id: 'a' })), /missing drive id/);
  assert.match(faultOf(await call('POST', '/actions', {})), /^Invalid request method and\/or path: POST \/actions\.$/);
  assert.match(faultOf(await call('PUT', '/snapshot/load', {})), /^PUT \/snapshot\/load: tsvmm does not support snapshots\.$/);
});

test('requests are answered one at a time, in order', async () => {
  let release!: () => void;
  const order: string[] = [];
  const slow: VmController = {
    state: 'Not started',
    start: () => new Promise<void>((r) => (release = () => (order.push('start done'), r()))),
    pause: async () => {},
    resume: async () => {},
    sendCtrlAltDel: async () => {},
    flushMetrics: async () => {},
  };
  const { call } = api(slow);
  await call('PUT', '/boot-source', { kernel_image_path: '/k' });
  const start = call('PUT', '/actions', { action_type: 'InstanceStart' }).then((r) => order.push(`start ${r.status}`));
  const get = call('GET', '/').then(() => order.push('get'));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(order, [], 'GET / waits behind the InstanceStart in progress');
  release();
  await Promise.all([start, get]);
  assert.deepEqual(order, ['start done', 'start 204', 'get']);
});

test('a VM booted from a config file starts the API in the post-boot phase', async () => {
  const c = new FakeController();
  c.state = 'Running';
  const { call } = api(c, { bootedConfig: FC_EXPECTED });
  assert.equal(faultOf(await call('PUT', '/boot-source', { kernel_image_path: '/k' })), PRE_BOOT_ONLY);
  assert.equal((await call('GET', '/machine-config')).body?.['vcpu_count'], 2);
  assert.equal((await call('PATCH', '/vm', { state: 'Paused' })).status, 204);
});
