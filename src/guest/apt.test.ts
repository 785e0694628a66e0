import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AptPackageError, debFileName, dependsNames, parseAptShow, parseAptShowAll, parseControlStanza } from './apt.js';

const SHOW = `Package: busybox-static
Source: busybox (1:1.35.0-4+deb12u1)
Version: 1:1.35.0-4+deb12u1+b1
Architecture: amd64
Depends: libc6 (>= 2.34) | libc6.1, foo:any
Description-en: Standalone rescue shell with tons of builtin utilities
 BusyBox combines tiny versions of many common UNIX utilities into a single
 small executable.

Package: busybox-static
Version: 1:1.30.1-6
Architecture: amd64
`;

test('parseControlStanza: first stanza only, continuation lines joined', () => {
  const f = parseControlStanza(SHOW);
  assert.equal(f.get('Version'), '1:1.35.0-4+deb12u1+b1');
  assert.match(f.get('Description-en') ?? '', /\nsmall executable\.$/);
});

test('dependsNames: first alternative, no versions or arch qualifiers', () => {
  assert.deepEqual(dependsNames('libc6 (>= 2.34) | libc6.1, foo:any'), ['libc6', 'foo']);
  assert.deepEqual(dependsNames('linux-source-6.1 (= 6.1.192-3)'), ['linux-source-6.1']);
  assert.deepEqual(dependsNames(''), []);
});

test('parseAptShow and debFileName: the name apt-get download writes', () => {
  const p = parseAptShow('busybox-static', SHOW);
  assert.deepEqual(p, { name: 'busybox-static', version: '1:1.35.0-4+deb12u1+b1', architecture: 'amd64', depends: ['libc6', 'foo'] });
  assert.equal(debFileName(p), 'busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb');
  assert.throws(() => parseAptShow('nosuch', ''), AptPackageError);
  assert.throws(() => parseAptShow('linux-source', SHOW), /no Package\/Version/);
});

test('parseAptShowAll: one stanza per package, first one wins; a missing package is an error', () => {
  const text = `${SHOW}\nPackage: linux-source\nVersion: 6.1.192-3\nArchitecture: all\nDepends: linux-source-6.1 (= 6.1.192-3)\n`;
  const m = parseAptShowAll(['linux-source', 'busybox-static'], text);
  assert.equal(m.get('busybox-static')?.version, '1:1.35.0-4+deb12u1+b1');
  assert.deepEqual(m.get('linux-source')?.depends, ['linux-source-6.1']);
  assert.throws(() => parseAptShowAll(['linux-source', 'nosuch'], text), (e: unknown) => e instanceof AptPackageError && e.pkg === 'nosuch');
});

test('parseAptShowAll: an architecture qualifier picks that architecture\'s stanza; none picks the native one', () => {
  const both = 'Package: busybox-static\nVersion: 1:1.35.0-4+b1\nArchitecture: arm64\n\nPackage: busybox-static\nVersion: 1:1.35.0-4+b2\nArchitecture: amd64\n\nPackage: linux-source\nVersion: 6.1\nArchitecture: all\n';
  const m = parseAptShowAll(['busybox-static', 'busybox-static:arm64', 'linux-source:arm64'], both);
  assert.equal(m.get('busybox-static')?.architecture, 'amd64');
  assert.equal(m.get('busybox-static')?.version, '1:1.35.0-4+b2');
  assert.equal(m.get('busybox-static:arm64')?.architecture, 'arm64');
  assert.equal(m.get('busybox-static:arm64')?.name, 'busybox-static');
  assert.equal(m.get('linux-source:arm64')?.architecture, 'all', 'an "all" package serves every architecture');
  assert.equal(parseAptShowAll(['busybox-static'], both, 'arm64').get('busybox-static')?.version, '1:1.35.0-4+b1');
  assert.throws(() => parseAptShowAll(['busybox-static:riscv64'], both), AptPackageError);
});
