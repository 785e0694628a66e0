import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artefactNames, describeGuest, readGuest, withPaths, type GuestManifest } from './manifest.js';

test('artefactNames: bzImage or Image by architecture, vmlinux only for the custom kernel', () => {
  assert.deepEqual(artefactNames('custom', 'x86_64'), { bzImage: 'bzImage', vmlinux: 'vmlinux', initramfs: 'initramfs.cpio', disk: 'disk.img' });
  assert.deepEqual(artefactNames('debian', 'x86_64'), { bzImage: 'bzImage', vmlinux: null, initramfs: 'initramfs.cpio', disk: 'disk.img' });
  assert.deepEqual(artefactNames('debian', 'arm64'), { Image: 'Image', vmlinux: null, initramfs: 'initramfs.cpio', disk: 'disk.img' });
});

function manifest(variant: 'custom' | 'debian'): GuestManifest {
  return {
    tsvmmGuest: 1,
    variant,
    arch: 'x86_64',
    key: 'k',
    kernel: { source: 'linux-image-6.1.0-44-amd64 6.1.192-3', release: '6.1.0-44-amd64', modules: [] },
    busybox: 'busybox-static 1:1.35.0-4+b3',
    append: 'rdinit=/init',
    artefacts: artefactNames(variant, 'x86_64'),
    buildSeconds: 12,
    builtAt: '2025-01-01T00:00:00.000Z',
  };
}

test('withPaths: file names become paths in the folder; null stays null', () => {
  const m = withPaths('/cache/k', manifest('debian'));
  assert.deepEqual(m.artefacts, { bzImage: '/cache/k/bzImage', vmlinux: null, initramfs: '/cache/k/initramfs.cpio', disk: '/cache/k/disk.img' });
  assert.equal(m.key, 'k');
});

test('readGuest: a folder is reused only with its manifest and every artefact there', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-guest-'));
  try {
    assert.equal(readGuest(dir), undefined, 'no manifest');
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest('debian')));
    writeFileSync(join(dir, 'bzImage'), 'k'.repeat(1 << 20));
    writeFileSync(join(dir, 'initramfs.cpio'), 'i');
    assert.equal(readGuest(dir), undefined, 'disk.img missing');
    writeFileSync(join(dir, 'disk.img'), '');
    const g = readGuest(dir);
    assert.ok(g !== undefined);
    assert.equal(g.reused, true);
    assert.equal(g.manifest.artefacts.disk, join(dir, 'disk.img'));
    const text = describeGuest(g);
    assert.equal(text.split('\n')[0], `guest (x86_64 debian: linux-image-6.1.0-44-amd64 6.1.192-3) already built: ${dir}`);
    assert.match(text, /^ {2}kernel {4}\S+\/bzImage \(1\.0 MiB\)$/m);
    assert.doesNotMatch(text, /vmlinux/, 'no row for an artefact this variant does not have');
    assert.equal(describeGuest({ ...g, reused: false }).split('\n')[0], `guest (x86_64 debian: linux-image-6.1.0-44-amd64 6.1.192-3) built in 12s: ${dir}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
