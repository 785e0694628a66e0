import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { native } from '../../../native/addon.js';
import { ERRNO } from '../../../native/linux.js';
import { VIRTIO_F, featureBit } from '../constants.js';
import { VIRTIO_NET_F } from './constants.js';
import { IFF, TUN_F, TapError, configureTap, getVnetHeaderSize, interfaceNameProblem, openTap, setOffload, tunOffloadFlags, type Tap } from './tap.js';

const f = (...bits: number[]): bigint => bits.reduce((acc, b) => acc | featureBit(b), 0n);

test('interface names are checked before the kernel sees them', () => {
  for (const ok of ['tap0', 'tap%d', 'tsvmm-net.1', 'a', '123456789012345']) assert.equal(interfaceNameProblem(ok), null, ok);
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['1234567890123456', /16 bytes; at most 15/],
    ['.', /"\."/],
    ['..', /"\."/],
    ['a/b', /"\/"/],
    ['eth0:1', /":"/],
    ['tap 0', /whitespace/],
    ['tap\u00e9', /non-ASCII/],
    ['tap%d%d', /one "%d"/],
    ['tap%s', /one "%d"/],
  ];
  for (const [name, pattern] of bad) assert.match(interfaceNameProblem(name) ?? 'accepted', pattern, name);
  assert.throws(() => openTap('bad/name'), (e: unknown) => e instanceof TapError && /not a valid interface name/.test(e.message));
});

test('TUN offloads follow what the guest accepted; nothing without GUEST_CSUM; never UFO', () => {
  const v1 = featureBit(VIRTIO_F.VERSION_1);
  assert.equal(tunOffloadFlags(v1), 0);
  assert.equal(tunOffloadFlags(f(VIRTIO_NET_F.GUEST_TSO4, VIRTIO_NET_F.GUEST_TSO6)), 0, 'TSO needs GUEST_CSUM');
  assert.equal(tunOffloadFlags(f(VIRTIO_NET_F.GUEST_CSUM)), TUN_F.CSUM);
  assert.equal(tunOffloadFlags(f(VIRTIO_NET_F.GUEST_CSUM, VIRTIO_NET_F.GUEST_TSO4)), TUN_F.CSUM | TUN_F.TSO4);
  assert.equal(tunOffloadFlags(f(VIRTIO_NET_F.GUEST_CSUM, VIRTIO_NET_F.GUEST_ECN)), TUN_F.CSUM, 'ECN needs a TSO');
  assert.equal(
    tunOffloadFlags(f(VIRTIO_NET_F.GUEST_CSUM, VIRTIO_NET_F.GUEST_TSO4, VIRTIO_NET_F.GUEST_TSO6, VIRTIO_NET_F.GUEST_ECN, VIRTIO_NET_F.GUEST_UFO, VIRTIO_NET_F.CSUM, VIRTIO_NET_F.HOST_TSO4)),
    TUN_F.CSUM | TUN_F.TSO4 | TUN_F.TSO6 | TUN_F.TSO_ECN,
  );
});

/** Opens a TAP, or skips the test with the reason when this host cannot (no /dev/net/tun, no privilege). */
function openOrSkip(t: TestContext, name: string | undefined): Tap | null {
  try {
    return openTap(name);
  } catch (err) {
    if (err instanceof TapError && ['ENOENT', 'ENODEV', 'ENXIO', 'EACCES', 'EPERM'].includes(err.code)) {
      const reason = `cannot open a TAP here: ${err.message}`;
      console.log(`# skipped: ${reason}`);
      t.skip(reason);
      return null;
    }
    throw err;
  }
}

test('live TAP: named and templated, flags, non-blocking, busy, header size and offloads, gone on close', (t) => {
  const name = `tsvt${process.pid % 100000}`;
  const tap = openOrSkip(t, name);
  if (tap === null) return;
  let other: Tap | null = null;
  try {
    assert.equal(tap.name, name);
    const flags = parseInt(readFileSync(`/sys/class/net/${name}/tun_flags`, 'utf8'), 16);
    assert.equal(flags & (IFF.TAP | IFF.NO_PI | IFF.VNET_HDR | IFF.TUN), IFF.TAP | IFF.NO_PI | IFF.VNET_HDR);
    assert.equal(native.readv(tap.fd, [new Uint8Array(2048)]), -ERRNO.EAGAIN, 'non-blocking, and no frame on a down link');
    assert.throws(() => openTap(name), (e: unknown) => e instanceof TapError && e.code === 'EBUSY' && e.message.includes(name) && /busy/.test(e.message));
    const features = f(VIRTIO_F.VERSION_1, VIRTIO_NET_F.GUEST_CSUM, VIRTIO_NET_F.GUEST_TSO4, VIRTIO_NET_F.GUEST_TSO6, VIRTIO_NET_F.GUEST_ECN, VIRTIO_NET_F.MRG_RXBUF);
    assert.equal(getVnetHeaderSize(tap.fd), 10, 'the kernel default');
    configureTap(tap.fd, features);
    assert.equal(getVnetHeaderSize(tap.fd), 12);
    configureTap(tap.fd, featureBit(VIRTIO_F.VERSION_1));
    assert.throws(() => setOffload(tap.fd, 0x8000), /EINVAL/, 'unknown offload bits are refused');
    other = openOrSkip(t, undefined);
    if (other !== null) {
      assert.match(other.name, /^tap\d+$/, 'the kernel picked the name');
      assert.ok(existsSync(`/sys/class/net/${other.name}`));
    }
  } finally {
    native.close(tap.fd);
    if (other !== null) native.close(other.fd);
  }
  assert.equal(existsSync(`/sys/class/net/${name}`), false, 'a TAP we created goes away with its fd');
});

test('live TAP: without CAP_NET_ADMIN the error says so', (t) => {
  if (process.getuid?.() !== 0 || !existsSync('/dev/net/tun')) {
    t.skip('needs root and /dev/net/tun to drop CAP_NET_ADMIN from');
    return;
  }
  const url = new URL('./tap.js', import.meta.url).href;
  const script = `import { openTap } from ${JSON.stringify(url)};
try { openTap('tsvp${process.pid % 100000}'); console.log('opened'); } catch (e) { console.log(e.name + ' ' + e.code + ': ' + e.message); }`;
  const r = spawnSync('setpriv', ['--bounding-set', '-net_admin', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    t.skip(`setpriv unavailable: ${r.error?.message ?? r.stderr}`);
    return;
  }
  assert.match(r.stdout, /^TapError EPERM: .*"tsvp\d+": operation not permitted; .*CAP_NET_ADMIN/);
});
