import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FirecrackerApi } from './api.js';
import { loadConfigFile, parseConfigFile } from './config_file.js';
import { ConfigFileError } from './errors.js';
import { FakeController, FC_CONFIG_FILE, FC_EXPECTED, FC_SEQUENCE } from './firecracker.fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvmm-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const OPTIONS = { seccomp: 'off' as const, log: () => {}, hostMemoryBytes: 8 * 1024 ** 3 };
const FILE = 'vm.json';

function refused(config: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseConfigFile(typeof config === 'string' ? config : JSON.stringify(config), FILE, OPTIONS),
    (e: unknown) => e instanceof ConfigFileError && e.file === FILE && pattern.test(e.message) && !e.message.includes('\n'),
  );
}

test('a config file gives the same VmConfig as the equivalent API sequence', async () => {
  const controller = new FakeController();
  const api = new FirecrackerApi({ controller, id: 'x', vmmVersion: '0', seccomp: 'off', limits: { hostMemoryBytes: OPTIONS.hostMemoryBytes }, log: () => {} });
  for (const s of FC_SEQUENCE) assert.equal((await api.handle({ method: s.method, path: s.path, body: JSON.stringify(s.body) })).status, 204);
  const fromApi = controller.calls[0]?.config;

  const path = join(dir, FILE);
  writeFileSync(path, JSON.stringify(FC_CONFIG_FILE, null, 2));
  const log: string[] = [];
  const fromFile = loadConfigFile(path, { ...OPTIONS, log: (l) => log.push(l) });
  assert.deepEqual(fromFile, FC_EXPECTED);
  assert.deepEqual(fromFile, fromApi);
  assert.match(log.join('\n'), /dropped pci=off/);
  // --seccomp is an input of the parser, not of the file.
  assert.equal(loadConfigFile(path, { ...OPTIONS, seccomp: 'kill' }).seccomp, 'kill');
});

test('errors name the file and the field', () => {
  const drives = FC_CONFIG_FILE.drives;
  refused({ ...FC_CONFIG_FILE, drives: [drives[0], { ...drives[1], is_read_only: 'yes' }] }, /^vm\.json: drives\[1\]\.is_read_only: expected true or false, got "yes"$/);
  refused({ ...FC_CONFIG_FILE, 'machine-config': { vcpu_count: 64, mem_size_mib: 128 } }, /^vm\.json: machine-config\.vcpu_count: must be 1 to 32, got 64$/);
  refused({ ...FC_CONFIG_FILE, 'boot-source': { kernel_image_path: '/k', cmdline: 'x' } }, /^vm\.json: boot-source\.cmdline: unknown field/);
  refused({ ...FC_CONFIG_FILE, 'network-interfaces': [{ iface_id: 'eth0', host_dev_name: 'tap0', mtu: 9000 }] }, /network-interfaces\[0\]\.mtu: 9000 is not supported/);
  refused({ ...FC_CONFIG_FILE, drives: [drives[1], { ...drives[1], drive_id: 'root2' }] }, /^vm\.json: drives\[1\]: A root block device already exists/);
  refused({ ...FC_CONFIG_FILE, drives: [5] }, /^vm\.json: drives\[0\]: expected a JSON object, got 5$/);
});

test('sections: required, unsupported, unknown', () => {
  const { 'boot-source': _boot, ...noBoot } = FC_CONFIG_FILE;
  refused(noBoot, /^vm\.json: boot-source: is required/);
  const { drives: _drives, ...noDrives } = FC_CONFIG_FILE;
  refused(noDrives, /^vm\.json: drives: is required/);
  refused({ ...FC_CONFIG_FILE, drives: {} }, /^vm\.json: drives: expected an array, got an object/);
  refused({ ...FC_CONFIG_FILE, vsock: { guest_cid: 3, uds_path: '/v' } }, /^vm\.json: vsock: tsvmm does not support vsock devices$/);
  refused({ ...FC_CONFIG_FILE, logger: { log_path: '/l' } }, /^vm\.json: logger: tsvmm does not support Firecracker's logger/);
  refused({ ...FC_CONFIG_FILE, 'machine-confg': {} }, /^vm\.json: machine-confg: unknown section; expected boot-source, drives, machine-config, network-interfaces$/);
  refused('{"boot-source": ', /^vm\.json: not valid JSON: /);
  refused('[]', /^vm\.json: expected a JSON object/);
  // Unsupported sections set to null are what Firecracker's own exporter writes: accepted.
  assert.deepEqual(parseConfigFile(JSON.stringify({ ...FC_CONFIG_FILE, vsock: null, balloon: null }), FILE, OPTIONS), FC_EXPECTED);
  // machine-config and network-interfaces are optional.
  const minimal = parseConfigFile(JSON.stringify({ 'boot-source': { kernel_image_path: '/k' }, drives: [] }), FILE, OPTIONS);
  assert.deepEqual([minimal.cpus, minimal.memoryBytes, minimal.disks, minimal.nets], [1, 128 * 1024 * 1024, [], []]);
});

test('an unreadable file is named with the reason', () => {
  const missing = join(dir, 'missing.json');
  assert.throws(
    () => loadConfigFile(missing, OPTIONS),
    (e: unknown) => e instanceof ConfigFileError && e.message === `cannot read config file ${missing}: ENOENT`,
  );
});
