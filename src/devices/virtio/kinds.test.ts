import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VIRTIO_KINDS } from './kinds.js';
import { blkModel } from './block/model.js';
import { netModel } from './net/model.js';

// The main thread creates VIRTIO_KINDS[kind].queues kick eventfds; the model
// the transport offers the guest must have exactly that many queues.
test('each kind of device has as many queues in its model as the table gives its kick eventfds', () => {
  const blk = blkModel({ kind: 'blk', fd: -1, size: 1 << 20, readOnly: false, serial: 'k' }, () => {});
  const net = netModel({ kind: 'net', tapFd: -1, tapName: 'tap0', mac: [2, 0, 0, 0, 0, 1] });
  assert.equal(blk.queueMaxSizes.length, VIRTIO_KINDS.blk.queues);
  assert.equal(net.queueMaxSizes.length, VIRTIO_KINDS.net.queues);
  assert.equal(VIRTIO_KINDS.blk.queues, 1);
  assert.equal(VIRTIO_KINDS.net.queues, 2);
});
