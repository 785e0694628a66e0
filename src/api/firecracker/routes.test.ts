import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathSegments, route } from './routes.js';

test('the endpoints tsvmm implements', () => {
  assert.deepEqual(route('GET', '/'), { kind: 'getInstanceInfo' });
  assert.deepEqual(route('GET', '/version'), { kind: 'getVersion' });
  assert.deepEqual(route('GET', '/machine-config'), { kind: 'getMachineConfig' });
  assert.deepEqual(route('PUT', '/machine-config'), { kind: 'putMachineConfig' });
  assert.deepEqual(route('PATCH', '/machine-config/'), { kind: 'patchMachineConfig' });
  assert.deepEqual(route('PUT', '/boot-source'), { kind: 'putBootSource' });
  assert.deepEqual(route('PUT', '/drives/rootfs'), { kind: 'putDrive', id: 'rootfs' });
  assert.deepEqual(route('PUT', '//network-interfaces/eth0'), { kind: 'putNetworkInterface', id: 'eth0' });
  assert.deepEqual(route('PUT', '/actions?x=1'), { kind: 'putActions' });
  assert.deepEqual(route('PATCH', '/vm'), { kind: 'patchVm' });
});

test("Firecracker's other endpoints are named as unsupported", () => {
  for (const [method, path, what] of [
    ['PUT', '/snapshot/create', /snapshots/],
    ['PUT', '/snapshot/load', /snapshots/],
    ['PUT', '/balloon', /balloon/],
    ['GET', '/balloon/statistics', /balloon/],
    ['PUT', '/vsock', /vsock/],
    ['PUT', '/mmds/config', /MMDS/],
    ['GET', '/mmds', /MMDS/],
    ['PUT', '/logger', /logger/],
    ['PUT', '/metrics', /metrics/],
    ['PUT', '/entropy', /entropy/],
    ['PUT', '/cpu-config', /CPU templates/],
    ['PUT', '/pmem/p0', /pmem/],
    ['GET', '/vm/config', /vm\/config/],
    ['PATCH', '/drives/rootfs', /drive after boot/],
    ['PATCH', '/network-interfaces/eth0', /network interface after boot/],
  ] as const) {
    const r = route(method, path);
    assert.equal(r.kind, 'unsupported', `${method} ${path}`);
    assert.match((r as { what: string }).what, what);
  }
});

test('anything else is an invalid method or path', () => {
  for (const [method, path] of [
    ['POST', '/actions'],
    ['DELETE', '/drives/rootfs'],
    ['GET', '/boot-source'],
    ['PUT', '/drives/a/b'],
    ['PUT', '/vsock/x'],
    ['GET', '/nothing'],
    ['PUT', '/'],
    ['PATCH', '/vm/state'],
  ] as const) {
    assert.deepEqual(route(method, path), { kind: 'invalid' }, `${method} ${path}`);
  }
  assert.deepEqual(route('PUT', '/drives'), { kind: 'missingId', resource: 'drive' });
  assert.deepEqual(route('PUT', '/network-interfaces/'), { kind: 'missingId', resource: 'network interface' });
});

test('path segments: leading slashes trimmed, one trailing slash and the query ignored', () => {
  assert.deepEqual(pathSegments('/'), ['']);
  assert.deepEqual(pathSegments('///drives/x/?q'), ['drives', 'x']);
  assert.deepEqual(pathSegments('/drives//'), ['drives', '']);
});
