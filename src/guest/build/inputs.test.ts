// The cache keys: guests already built are found again only if the same
// inputs give the same key, so these tests pin the derivation (which fields,
// in which order, hashed how) and check that each input moves the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { customKernelKey, debianKernelKey, DEBIAN_MODULES, DISK_README, DISK_SIZE, GUEST_BUILD_VERSION, guestKey, readPatches, sha16, type GuestInputs } from './inputs.js';

const sha256hex16 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

const GUEST: GuestInputs = {
  variant: 'custom',
  arch: 'x86_64',
  kernelKey: '0123456789abcdef',
  initScript: '#!/bin/sh\necho hi\n',
  busybox: { name: 'busybox-static', version: '1:1.35.0-4+b3' },
};

test('sha16: the first 16 hex digits of the SHA-256 of the JSON text', () => {
  assert.equal(sha16({ a: [1, 'b'] }), sha256hex16('{"a":[1,"b"]}'));
  assert.match(sha16(null), /^[0-9a-f]{16}$/);
});

test('guestKey hashes exactly this JSON (x86_64 leaves the architecture out)', () => {
  const disk = `{"size":${JSON.stringify(DISK_SIZE)},"readme":${JSON.stringify(DISK_README)}}`;
  const body = `"variant":"custom","kernel":"0123456789abcdef","init":"#!/bin/sh\\necho hi\\n","busybox":{"name":"busybox-static","version":"1:1.35.0-4+b3"},"disk":${disk}}`;
  assert.equal(guestKey(GUEST), sha256hex16(`{"v":${GUEST_BUILD_VERSION},${body}`));
  const arm = { ...GUEST, variant: 'debian', arch: 'arm64' } as const;
  assert.equal(guestKey(arm), sha256hex16(`{"v":${GUEST_BUILD_VERSION},"arch":"arm64",${body.replace('"custom"', '"debian"')}`));
});

test('guestKey: every input moves the key; equal inputs give equal keys', () => {
  const base = guestKey(GUEST);
  assert.equal(guestKey({ ...GUEST, busybox: { ...GUEST.busybox } }), base);
  const variants: GuestInputs[] = [
    { ...GUEST, variant: 'debian' },
    { ...GUEST, arch: 'arm64' },
    { ...GUEST, kernelKey: 'fedcba9876543210' },
    { ...GUEST, initScript: `${GUEST.initScript}\n` },
    { ...GUEST, busybox: { ...GUEST.busybox, version: '1:1.36.1-9' } },
    { ...GUEST, busybox: { ...GUEST.busybox, name: 'busybox' } },
  ];
  const keys = new Set([base, ...variants.map(guestKey)]);
  assert.equal(keys.size, variants.length + 1);
});

const SOURCE = { name: 'linux-source-6.1', version: '6.1.192-3' };
const FRAGMENT = '# virtio\nCONFIG_VIRTIO_PCI=y\n# CONFIG_SOUND is not set\n';

test('customKernelKey hashes the fragment\'s values, the patches and the source package, in that order', () => {
  const patches = [{ name: 'a.patch', text: '--- a\n+++ b\n' }];
  const expected = `{"v":${GUEST_BUILD_VERSION},"fragment":[["VIRTIO_PCI","y"],["SOUND","n"]],"patches":[{"name":"a.patch","text":"--- a\\n+++ b\\n"}],"source":{"name":"linux-source-6.1","version":"6.1.192-3"}}`;
  assert.equal(customKernelKey({ fragmentText: FRAGMENT, patches, source: SOURCE }), sha256hex16(expected));
});

test('customKernelKey: comments and blank lines do not count; values, patches and the version do', () => {
  const key = (fragmentText: string, patches: { name: string; text: string }[] = [], source = SOURCE): string => customKernelKey({ fragmentText, patches, source });
  const base = key(FRAGMENT);
  assert.equal(key(`# a new comment\n\n${FRAGMENT}\n`), base);
  const moved = [
    key(FRAGMENT.replace('VIRTIO_PCI=y', 'VIRTIO_PCI=m')),
    key(`${FRAGMENT}CONFIG_EXT4_FS=y\n`),
    key(FRAGMENT, [{ name: 'x.patch', text: '' }]),
    key(FRAGMENT, [], { ...SOURCE, version: '6.1.193-1' }),
  ];
  for (const k of moved) assert.notEqual(k, base);
});

test('debianKernelKey: the image package and the module list', () => {
  const image = { name: 'linux-image-6.1.0-44-amd64', version: '6.1.192-3' };
  assert.equal(debianKernelKey(image), sha256hex16(`{"v":${GUEST_BUILD_VERSION},"image":{"name":"${image.name}","version":"${image.version}"},"modules":${JSON.stringify(DEBIAN_MODULES)}}`));
  assert.notEqual(debianKernelKey({ ...image, version: '6.1.193-1' }), debianKernelKey(image));
  assert.notEqual(debianKernelKey(image, ['virtio_pci']), debianKernelKey(image));
});

test('readPatches: *.patch files in name order with their text; none without the folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-patches-'));
  try {
    writeFileSync(join(dir, 'b.patch'), 'B');
    writeFileSync(join(dir, 'a.patch'), 'A');
    writeFileSync(join(dir, 'README'), 'not a patch');
    assert.deepEqual(readPatches(dir), [
      { name: 'a.patch', path: join(dir, 'a.patch'), text: 'A' },
      { name: 'b.patch', path: join(dir, 'b.patch'), text: 'B' },
    ]);
    assert.deepEqual(readPatches(join(dir, 'missing')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
