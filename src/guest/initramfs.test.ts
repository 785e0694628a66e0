import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { INIT_APPLETS, MissingAppletError, ModuleNameError, buildInitramfs, initramfsEntries } from './initramfs.js';

const hasCpio = spawnSync('cpio', ['--version'], { stdio: 'ignore' }).status === 0;
const busybox = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]);
const applets = [...INIT_APPLETS, 'bin/ls', 'usr/sbin/chroot', 'sbin/deep/odd', 'linuxrc', 'bin/busybox'];

test('initramfs: busybox, every applet linked to it, /init, /dev/console, parents first', () => {
  const entries = initramfsEntries({ busybox, applets, initScript: '#!/bin/sh\necho hi\n' });
  const byPath = new Map(entries.map((e) => [e.path, e]));
  assert.deepEqual(byPath.get('dev/console'), { kind: 'chardev', path: 'dev/console', major: 5, minor: 1, mode: 0o600 });
  assert.deepEqual(byPath.get('bin/ls'), { kind: 'symlink', path: 'bin/ls', target: '/bin/busybox' });
  assert.equal(byPath.get('init')?.kind, 'file');
  assert.equal(byPath.get('sbin/deep')?.kind, 'dir', 'parents of applets are created');
  assert.equal(byPath.get('etc/modules'), undefined, 'no module list without modules');
  assert.equal(byPath.get('linuxrc'), undefined, 'no applet links at the root');
  assert.equal(byPath.get('bin/busybox')?.kind, 'file', 'busybox itself is not a link');
  const seen = new Set<string>();
  for (const e of entries) {
    const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
    assert.ok(parent === '' || seen.has(parent), `${e.path} after its parent`);
    seen.add(e.path);
  }
});

test('initramfs: modules go to lib/modules with /etc/modules in load order', () => {
  const modules = [
    { name: 'virtio', data: new Uint8Array([1]) },
    { name: 'virtio_pci', data: new Uint8Array([2]) },
  ];
  const entries = initramfsEntries({ busybox, applets, initScript: '', modules });
  const list = entries.find((e) => e.path === 'etc/modules');
  assert.ok(list?.kind === 'file');
  assert.equal(new TextDecoder().decode(list.data), 'virtio.ko\nvirtio_pci.ko\n');
  assert.ok(entries.some((e) => e.path === 'lib/modules/virtio_pci.ko'));
  assert.throws(() => initramfsEntries({ busybox, applets, initScript: '', modules: [{ name: '../x', data: new Uint8Array() }] }), ModuleNameError);
});

test('initramfs: a busybox without the applets /init runs is refused', () => {
  assert.throws(
    () => initramfsEntries({ busybox, applets: ['bin/sh', 'bin/ls'], initScript: '' }),
    (e: unknown) => e instanceof MissingAppletError && e.applets.includes('usr/bin/setsid') && !e.applets.includes('bin/sh'),
  );
});

test('initramfs: cpio -t lists init, busybox and the console node', { skip: hasCpio ? false : 'cpio not installed' }, () => {
  const r = spawnSync('cpio', ['-t', '-v', '--quiet'], { input: buildInitramfs({ busybox, applets, initScript: '#!/bin/sh\n' }), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.some((l) => /^-rwxr-xr-x .* init$/.test(l)));
  assert.ok(lines.some((l) => /^-rwxr-xr-x .* 7 .* bin\/busybox$/.test(l)));
  assert.ok(lines.some((l) => /^crw------- .* 5,\s+1 .* dev\/console$/.test(l)));
  assert.ok(lines.some((l) => /^drwxrwxrwt .* tmp$/.test(l)));
});
