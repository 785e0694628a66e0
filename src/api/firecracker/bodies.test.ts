import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseAction,
  parseBootSource,
  parseDrive,
  parseMachineConfig,
  parseMachineConfigPatch,
  parseNetworkInterface,
  parseVmState,
} from './bodies.js';
import { FieldError } from './errors.js';
import { describeValue, Fields } from './fields.js';

const LIMITS = { hostMemoryBytes: 4 * 1024 ** 3 };

/** Asserts `fn` throws a FieldError for `field` whose detail matches `detail`. */
function refuses(fn: () => unknown, field: string, detail: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FieldError, `not a FieldError: ${String(e)}`);
    assert.equal(e.field, field);
    assert.match(e.detail, detail);
    assert.equal(e.message, `${field}: ${e.detail}`);
    return true;
  });
}

test('machine-config: the two required fields, within range', () => {
  assert.deepEqual(parseMachineConfig({ vcpu_count: 2, mem_size_mib: 512 }, LIMITS), { vcpuCount: 2, memSizeMib: 512 });
  refuses(() => parseMachineConfig({ mem_size_mib: 512 }, LIMITS), 'vcpu_count', /is required/);
  refuses(() => parseMachineConfig({ vcpu_count: 33, mem_size_mib: 512 }, LIMITS), 'vcpu_count', /1 to 32, got 33/);
  refuses(() => parseMachineConfig({ vcpu_count: 0, mem_size_mib: 512 }, LIMITS), 'vcpu_count', /got 0/);
  refuses(() => parseMachineConfig({ vcpu_count: '2', mem_size_mib: 512 }, LIMITS), 'vcpu_count', /whole number, got "2"/);
  refuses(() => parseMachineConfig({ vcpu_count: 1.5, mem_size_mib: 512 }, LIMITS), 'vcpu_count', /whole number, got 1.5/);
  refuses(() => parseMachineConfig({ vcpu_count: 1, mem_size_mib: 8 }, LIMITS), 'mem_size_mib', /16 to 4096, got 8/);
  refuses(() => parseMachineConfig({ vcpu_count: 1, mem_size_mib: 8192 }, LIMITS), 'mem_size_mib', /16 to 4096, got 8192/);
});

test('machine-config: unknown fields are refused; known-but-unsupported only when switched on', () => {
  refuses(() => parseMachineConfig({ vcpu_count: 1, mem_size_mib: 128, vcpus: 2 }, LIMITS), 'vcpus', /unknown field; expected one of vcpu_count/);
  const off = { vcpu_count: 1, mem_size_mib: 128, smt: false, track_dirty_pages: false, huge_pages: 'None', cpu_template: 'None' };
  assert.deepEqual(parseMachineConfig(off, LIMITS), { vcpuCount: 1, memSizeMib: 128 });
  refuses(() => parseMachineConfig({ ...off, smt: true }, LIMITS), 'smt', /true is not supported by tsvmm/);
  refuses(() => parseMachineConfig({ ...off, track_dirty_pages: true }, LIMITS), 'track_dirty_pages', /not supported by tsvmm \(it has no snapshots/);
  refuses(() => parseMachineConfig({ ...off, huge_pages: '2M' }, LIMITS), 'huge_pages', /"2M" is not supported/);
  refuses(() => parseMachineConfig({ ...off, cpu_template: 'T2' }, LIMITS), 'cpu_template', /"T2" is not supported by tsvmm \(only None/);
  refuses(() => parseMachineConfig({ ...off, cpu_template: 'baseline' }, LIMITS), 'cpu_template', /expected one of C3, T2/);
  // null is an absent Option, as in serde.
  assert.deepEqual(parseMachineConfig({ ...off, smt: null }, LIMITS), { vcpuCount: 1, memSizeMib: 128 });
});

test('machine-config PATCH: partial, and an empty update is refused', () => {
  assert.deepEqual(parseMachineConfigPatch({ mem_size_mib: 1024 }, LIMITS), { memSizeMib: 1024 });
  assert.deepEqual(parseMachineConfigPatch({ vcpu_count: 4 }, LIMITS), { vcpuCount: 4 });
  refuses(() => parseMachineConfigPatch({}, LIMITS), 'body', /empty PATCH/);
  refuses(() => parseMachineConfigPatch({ smt: null }, LIMITS), 'body', /empty PATCH/);
  refuses(() => parseMachineConfigPatch({ vcpu_count: 64 }, LIMITS), 'vcpu_count', /got 64/);
});

test('boot-source: kernel required, initrd and boot_args optional strings', () => {
  assert.deepEqual(parseBootSource({ kernel_image_path: '/k' }), { kernelImagePath: '/k', initrdPath: undefined, bootArgs: undefined });
  assert.deepEqual(parseBootSource({ kernel_image_path: '/k', initrd_path: '/i', boot_args: 'quiet' }), { kernelImagePath: '/k', initrdPath: '/i', bootArgs: 'quiet' });
  refuses(() => parseBootSource({ initrd_path: '/i' }), 'kernel_image_path', /is required/);
  refuses(() => parseBootSource({ kernel_image_path: '' }), 'kernel_image_path', /must not be empty/);
  refuses(() => parseBootSource({ kernel_image_path: '/k', boot_args: ['a'] }), 'boot_args', /expected a string, got an array/);
  refuses(() => parseBootSource('/k'), 'body', /expected a JSON object, got "\/k"/);
  refuses(() => parseBootSource(null), 'body', /expected a JSON object, got null/);
});

test('drives: required fields, defaults, and what tsvmm does not do', () => {
  const base = { drive_id: 'rootfs', path_on_host: '/r.img', is_root_device: true };
  assert.deepEqual(parseDrive(base), { driveId: 'rootfs', pathOnHost: '/r.img', isRootDevice: true, isReadOnly: false, partuuid: undefined });
  assert.equal(parseDrive({ ...base, is_read_only: true, cache_type: 'Unsafe', io_engine: 'Sync' }).isReadOnly, true);
  assert.equal(parseDrive({ ...base, cache_type: 'Writeback' }).driveId, 'rootfs');
  refuses(() => parseDrive({ ...base, cache_type: 'None' }), 'cache_type', /expected one of Unsafe, Writeback/);
  refuses(() => parseDrive({ drive_id: 'a', path_on_host: '/r' }), 'is_root_device', /is required/);
  refuses(() => parseDrive({ drive_id: 'a', is_root_device: false }), 'path_on_host', /is required/);
  refuses(() => parseDrive({ ...base, io_engine: 'Async' }), 'io_engine', /"Async" is not supported/);
  refuses(() => parseDrive({ ...base, rate_limiter: { ops: { size: 1, refill_time: 100 } } }), 'rate_limiter', /not supported by tsvmm \(it has no I\/O rate limiting/);
  refuses(() => parseDrive({ drive_id: 'a', is_root_device: false, socket: '/vhost.sock' }), 'socket', /vhost-user/);
  refuses(() => parseDrive({ ...base, drive_id: 'a-b' }), 'drive_id', /"a-b" may contain only letters, digits and underscores/);
  refuses(() => parseDrive({ ...base, drive_id: '' }), 'drive_id', /must not be empty/);
  assert.equal(parseDrive({ ...base, partuuid: '0eaa91a0-01' }).partuuid, '0eaa91a0-01');
  refuses(() => parseDrive({ ...base, partuuid: 'x y' }), 'partuuid', /not a partition UUID/);
});

test('network-interfaces: TAP name, MAC normalised and checked, no mtu or rate limiters', () => {
  assert.deepEqual(parseNetworkInterface({ iface_id: 'eth0', host_dev_name: 'tap0', guest_mac: 'AA:FC:00:00:00:01' }), {
    ifaceId: 'eth0',
    hostDevName: 'tap0',
    guestMac: 'aa:fc:00:00:00:01',
  });
  assert.equal(parseNetworkInterface({ iface_id: 'eth0', host_dev_name: 'tap0' }).guestMac, undefined);
  refuses(() => parseNetworkInterface({ iface_id: 'eth0', host_dev_name: 'tap0', guest_mac: '01:00:5e:00:00:01' }), 'guest_mac', /multicast/);
  refuses(() => parseNetworkInterface({ iface_id: 'eth0', host_dev_name: 'tap0', guest_mac: 'aa:fc' }), 'guest_mac', /six hex octets/);
  refuses(() => parseNetworkInterface({ iface_id: 'eth0', host_dev_name: 'a-very-long-tap-name' }), 'host_dev_name', /not a TAP name/);
  refuses(() => parseNetworkInterface({ iface_id: 'eth0', host_dev_name: 'tap0', mtu: 1500 }), 'mtu', /1500 is not supported/);
  refuses(() => parseNetworkInterface({ iface_id: 'eth0', host_dev_name: 'tap0', rx_rate_limiter: {} }), 'rx_rate_limiter', /rate limiting/);
  refuses(() => parseNetworkInterface({ iface_id: 'eth0' }), 'host_dev_name', /is required/);
});

test('actions and vm state are closed enums', () => {
  assert.equal(parseAction({ action_type: 'InstanceStart' }), 'InstanceStart');
  assert.equal(parseAction({ action_type: 'FlushMetrics' }), 'FlushMetrics');
  refuses(() => parseAction({ action_type: 'instancestart' }), 'action_type', /expected one of InstanceStart, SendCtrlAltDel, FlushMetrics, got "instancestart"/);
  refuses(() => parseAction({ action_type: 'InstanceStart', payload: 1 }), 'payload', /unknown field/);
  assert.equal(parseVmState({ state: 'Resumed' }), 'Resumed');
  refuses(() => parseVmState({ state: 'Running' }), 'state', /expected one of Paused, Resumed/);
  refuses(() => parseVmState({}), 'state', /is required/);
});

test('nested objects carry their path; long values are shortened in messages', () => {
  const f = Fields.read({ inner: { a: 1 } }, ['inner']);
  refuses(() => f.optionalObject('inner', ['b']), 'inner.a', /unknown field; expected one of b/);
  refuses(() => Fields.read({ inner: 5 }, ['inner']).optionalObject('inner', ['a']), 'inner', /expected a JSON object, got 5/);
  const shown = describeValue('x'.repeat(500));
  assert.ok(shown.length <= 60 && shown.endsWith('...'), shown);
  assert.equal(describeValue(undefined), 'nothing');
});
