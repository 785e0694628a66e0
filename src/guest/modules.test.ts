import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ModuleCycleError,
  ModulesDepSyntaxError,
  UnknownModuleError,
  moduleNameOf,
  parseModulesBuiltin,
  parseModulesDep,
  resolveModules,
} from './modules.js';

// The shape of Debian 12's modules.dep (depmod output) for the modules the
// Debian-kernel guest loads; one compressed entry and one with a '-' name.
const DEP = `kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/fs/mbcache.ko:
kernel/fs/jbd2/jbd2.ko:
kernel/lib/crc16.ko:
kernel/crypto/crc32c_generic.ko:
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko.xz kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko.xz
kernel/net/core/failover.ko.xz:
kernel/drivers/hid/hid-generic.ko:
`;

const names = (m: { name: string }[]): string[] => m.map((x) => x.name);

/** Every module comes after all of its dependencies. */
function assertLoadOrder(order: { name: string; deps: readonly string[] }[]): void {
  const at = new Map(order.map((m, i) => [m.name, i]));
  for (const [i, m] of order.entries()) {
    for (const d of m.deps) {
      const j = at.get(d);
      assert.ok(j !== undefined && j < i, `${d} must load before ${m.name}`);
    }
  }
}

test('moduleNameOf: strips .ko and compression suffixes and reads - as _', () => {
  assert.equal(moduleNameOf('kernel/drivers/virtio/virtio_pci.ko'), 'virtio_pci');
  assert.equal(moduleNameOf('kernel/net/core/failover.ko.xz'), 'failover');
  assert.equal(moduleNameOf('kernel/drivers/hid/hid-generic.ko.zst'), 'hid_generic');
  assert.equal(moduleNameOf('kernel/x.ko.gz'), 'x');
  assert.equal(moduleNameOf('kernel/readme.txt'), undefined);
  assert.equal(moduleNameOf('.ko'), undefined);
});

test('parseModulesDep: paths and dependency names', () => {
  const m = parseModulesDep(DEP);
  assert.equal(m.size, 15);
  assert.deepEqual(m.get('virtio_pci'), {
    name: 'virtio_pci',
    path: 'kernel/drivers/virtio/virtio_pci.ko',
    deps: ['virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_ring', 'virtio'],
  });
  assert.deepEqual(m.get('failover')?.path, 'kernel/net/core/failover.ko.xz');
  assert.deepEqual(m.get('mbcache')?.deps, []);
  assert.ok(m.has('hid_generic'));
});

test('parseModulesDep: malformed lines are errors with their line number', () => {
  assert.throws(() => parseModulesDep('kernel/a.ko:\nkernel/b.ko kernel/a.ko\n'), (e: unknown) => e instanceof ModulesDepSyntaxError && e.line === 2);
  assert.throws(() => parseModulesDep('kernel/a.txt:\n'), /not a \.ko file/);
  assert.throws(() => parseModulesDep('kernel/a.ko: kernel/b\n'), /dependency "kernel\/b"/);
  assert.throws(() => parseModulesDep('kernel/a.ko:\nother/a.ko:\n'), /listed twice/);
});

test('resolveModules: the Debian guest set, dependencies first, each once', () => {
  const order = resolveModules(parseModulesDep(DEP), ['virtio_pci', 'virtio_blk', 'virtio-net', 'crc32c_generic', 'ext4']);
  assertLoadOrder(order);
  assert.deepEqual(names(order), [
    'virtio_pci_legacy_dev',
    'virtio_pci_modern_dev',
    'virtio_ring',
    'virtio',
    'virtio_pci',
    'virtio_blk',
    'failover',
    'net_failover',
    'virtio_net',
    'crc32c_generic',
    'crc16',
    'mbcache',
    'jbd2',
    'ext4',
  ]);
  assert.ok(!names(order).includes('hid_generic'), 'only what was asked for and needed');
});

test('resolveModules: unknown modules name who needed them', () => {
  const m = parseModulesDep(DEP);
  assert.throws(() => resolveModules(m, ['nosuch']), (e: unknown) => e instanceof UnknownModuleError && e.module === 'nosuch' && e.neededBy === undefined);
  const broken = parseModulesDep('kernel/a.ko: kernel/missing.ko\n');
  assert.throws(
    () => resolveModules(broken, ['a']),
    (e: unknown) => e instanceof UnknownModuleError && e.module === 'missing' && e.neededBy === 'a' && /needed by a/.test(e.message),
  );
});

test('resolveModules: a cycle is an error that shows the loop', () => {
  const m = parseModulesDep('kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/c.ko\nkernel/c.ko: kernel/a.ko\nkernel/d.ko: kernel/a.ko\n');
  assert.throws(
    () => resolveModules(m, ['d']),
    (e: unknown) => e instanceof ModuleCycleError && e.chain.join(' ') === 'a b c a',
  );
  assert.throws(() => resolveModules(parseModulesDep('kernel/s.ko: kernel/s.ko\n'), ['s']), /s -> s/);
});

test('parseModulesBuiltin: names of built-in modules', () => {
  const b = parseModulesBuiltin('kernel/drivers/tty/serial/8250/8250.ko\nkernel/fs/ext4/ext4.ko\n\n');
  assert.deepEqual([...b], ['8250', 'ext4']);
});
