import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VIRTIO_F, featureBit } from '../constants.js';
import { BlockDevice } from './device.js';
import { BlockExecutor } from './executor.js';
import { VIRTIO_BLK_CONFIG, VIRTIO_BLK_F } from './constants.js';

const SIZE = 8 * 512;

test('configuration space and features', () => {
  const d = new BlockDevice({ size: SIZE, readOnly: false, serial: 's', queueSize: 128 });
  assert.equal(d.readConfig(VIRTIO_BLK_CONFIG.CAPACITY, 4), 8);
  assert.equal(d.readConfig(VIRTIO_BLK_CONFIG.CAPACITY + 4, 4), 0);
  assert.equal(d.readConfig(VIRTIO_BLK_CONFIG.SEG_MAX, 4), 126);
  assert.equal(d.readConfig(VIRTIO_BLK_CONFIG.SIZE_MAX, 4), 1 << 20);
  assert.equal(d.readConfig(VIRTIO_BLK_CONFIG.BLK_SIZE, 4), 512);
  assert.equal(d.readConfig(VIRTIO_BLK_CONFIG.MAX_DISCARD_SEG, 4), 1);
  for (const bit of [VIRTIO_F.VERSION_1, VIRTIO_F.RING_PACKED, VIRTIO_F.RING_EVENT_IDX, VIRTIO_F.INDIRECT_DESC, VIRTIO_BLK_F.FLUSH, VIRTIO_BLK_F.SEG_MAX, VIRTIO_BLK_F.SIZE_MAX, VIRTIO_BLK_F.BLK_SIZE, VIRTIO_BLK_F.WRITE_ZEROES]) {
    assert.notEqual(d.features & featureBit(bit), 0n, `feature ${bit}`);
  }
  assert.equal(d.features & featureBit(VIRTIO_BLK_F.RO), 0n);
  const ro = new BlockDevice({ size: SIZE, readOnly: true, serial: 's' });
  assert.notEqual(ro.features & featureBit(VIRTIO_BLK_F.RO), 0n);
  assert.equal(ro.features & featureBit(VIRTIO_BLK_F.WRITE_ZEROES), 0n);
  assert.throws(() => new BlockDevice({ size: 1000, readOnly: false, serial: '' }), RangeError);
});

test('the config model offers what the executor enforces: one set of limits from the same options', () => {
  const options = { size: 64 * 512, readOnly: true, serial: 's', queueSize: 64, sizeMax: 4096 };
  const d = new BlockDevice(options);
  assert.deepEqual(new BlockExecutor(options).limits, d.limits);
  assert.equal(d.limits.segMax, 62);
  assert.equal(d.readConfig(VIRTIO_BLK_CONFIG.SIZE_MAX, 4), 4096);
  assert.deepEqual(d.queueMaxSizes, [64], 'one queue of the size asked for');
  assert.throws(() => new BlockExecutor({ size: 1000, readOnly: false, serial: '' }), RangeError);
});
