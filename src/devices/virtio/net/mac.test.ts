import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MacError, defaultMac, formatMac, parseMac } from './mac.js';

test('parse and format MAC addresses', () => {
  assert.deepEqual([...parseMac('52:54:00:12:34:5a')], [0x52, 0x54, 0, 0x12, 0x34, 0x5a]);
  assert.deepEqual([...parseMac('02-AB-cd-00-00-01')], [2, 0xab, 0xcd, 0, 0, 1]);
  assert.equal(formatMac(parseMac('52:54:00:0A:0b:0C')), '52:54:00:0a:0b:0c');
  for (const bad of ['', '52:54:00:12:34', '52:54:00:12:34:56:78', '52:54-00:12:34:56', '5254.0012.3456', 'zz:54:00:12:34:56', '52:54:00:12:34:5']) {
    assert.throws(() => parseMac(bad), MacError, bad);
  }
  assert.throws(() => parseMac('01:00:5e:00:00:01'), /multicast/);
  assert.throws(() => parseMac('ff:ff:ff:ff:ff:ff'), /multicast/);
  assert.throws(() => parseMac('00:00:00:00:00:00'), /not a valid/);
  assert.throws(() => formatMac(new Uint8Array(5)), MacError);
});

test('default MAC: stable per seed, unicast, locally administered', () => {
  const a = defaultMac('tap0');
  assert.deepEqual(defaultMac('tap0'), a, 'same seed, same MAC');
  assert.notDeepEqual(defaultMac('tap1'), a);
  for (const seed of ['tap0', 'tap1', 'x', '']) {
    const m = defaultMac(seed);
    assert.equal(m.length, 6);
    assert.equal(m[0]! & 1, 0, 'unicast');
    assert.equal(m[0]! & 2, 2, 'locally administered');
    assert.deepEqual(parseMac(formatMac(m)), m);
  }
});
