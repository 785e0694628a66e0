import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AptPackageError } from '../apt.js';
import { Progress } from '../progress.js';
import { GuestBuildError } from './options.js';
import { Apt, missingHostPackages } from './packages.js';

const quiet = (): Progress => new Progress({ write: () => true });

/** apt-cache show text for the packages in `known` (name -> [version, arch, depends]). */
function stanzas(known: Record<string, [string, string, string?]>, names: readonly string[]): string {
  return names
    .map((n) => n.split(':')[0]!)
    .filter((n) => n in known)
    .map((n) => {
      const [version, arch, depends] = known[n]!;
      return `Package: ${n}\nVersion: ${version}\nArchitecture: ${arch}\n${depends ? `Depends: ${depends}\n` : ''}`;
    })
    .join('\n');
}

const ARCHIVE: Record<string, [string, string, string?]> = {
  'busybox-static': ['1:1.35.0-4+b3', 'amd64'],
  'linux-source': ['6.1.192-3', 'all', 'linux-source-6.1 (= 6.1.192-3)'],
  'linux-source-6.1': ['6.1.192-3', 'all', 'binutils, bzip2'],
  'linux-image-amd64': ['6.1.192-3', 'amd64', 'linux-image-6.1.0-44-amd64 (= 6.1.192-3)'],
  'linux-image-6.1.0-44-amd64': ['6.1.192-3', 'amd64', 'kmod'],
};

test('missingHostPackages: the packages of missing commands and headers, each once, sorted', () => {
  const none = (): boolean => false;
  const all = (): boolean => true;
  assert.deepEqual(missingHostPackages('debian', all, all), []);
  assert.deepEqual(missingHostPackages('debian', (c) => c !== 'depmod' && c !== 'xz', all), ['kmod', 'xz-utils']);
  const custom = missingHostPackages('custom', (c) => c !== 'gcc' && c !== 'make', none);
  assert.deepEqual(custom, ['build-essential', 'libelf-dev']);
  assert.ok(missingHostPackages('custom', none, none).includes('lz4'));
  assert.ok(!missingHostPackages('debian', none, none).includes('lz4'), 'the kernel build tools only for custom');
});

test('Apt.resolve: plain packages, and meta packages followed to the package they depend on', () => {
  const asked: string[][] = [];
  const apt = new Apt(quiet(), (names) => (asked.push([...names]), stanzas(ARCHIVE, names)), () => assert.fail('no update needed'));
  const got = apt.resolve(['busybox-static'], { 'linux-source': 'linux-source-', 'linux-image-amd64': 'linux-image-' });
  assert.deepEqual(asked, [['busybox-static', 'linux-source', 'linux-image-amd64'], ['linux-source-6.1', 'linux-image-6.1.0-44-amd64']]);
  assert.equal(got.get('busybox-static')?.version, '1:1.35.0-4+b3');
  assert.equal(got.get('linux-source')?.name, 'linux-source-6.1');
  assert.equal(got.get('linux-image-amd64')?.name, 'linux-image-6.1.0-44-amd64');
});

test('Apt.resolve: the qualifier goes on the dependency asked for second', () => {
  const archive = { 'linux-image-arm64': ['6.1.192-3', 'arm64', 'linux-image-6.1.0-44-arm64'], 'linux-image-6.1.0-44-arm64': ['6.1.192-3', 'arm64'] } as Record<string, [string, string, string?]>;
  const asked: string[][] = [];
  const apt = new Apt(quiet(), (names) => (asked.push([...names]), stanzas(archive, names)), () => {}, 'amd64');
  const got = apt.resolve([], { 'linux-image-arm64:arm64': 'linux-image-' }, ':arm64');
  assert.deepEqual(asked[1], ['linux-image-6.1.0-44-arm64:arm64']);
  assert.equal(got.get('linux-image-arm64:arm64')?.architecture, 'arm64');
});

test('Apt: apt-get update once when apt does not know a package, then asks again', () => {
  let updates = 0;
  const apt = new Apt(quiet(), (names) => (updates > 0 ? stanzas(ARCHIVE, names) : ''), () => void updates++);
  assert.equal(apt.candidates(['busybox-static']).get('busybox-static')?.version, '1:1.35.0-4+b3');
  assert.equal(updates, 1);
  assert.throws(() => apt.candidates(['no-such-package']), AptPackageError);
  assert.equal(updates, 1, 'not updated a second time');
});

test('Apt.resolve: a meta package without the expected dependency is an error naming it', () => {
  const archive = { 'linux-source': ['1', 'all', 'something-else'] } as Record<string, [string, string, string?]>;
  const apt = new Apt(quiet(), (names) => stanzas(archive, names), () => {});
  assert.throws(
    () => apt.resolve([], { 'linux-source': 'linux-source-' }),
    (e: Error) => e instanceof GuestBuildError && e.message === 'linux-source 1 depends on no linux-source-* package',
  );
});
