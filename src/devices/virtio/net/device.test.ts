import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PCI_CLASS } from '../../../pci/constants.js';
import { VIRTIO_F, VIRTIO_ID, featureBit } from '../constants.js';
import { VIRTIO_NET_CONFIG, VIRTIO_NET_F, VIRTIO_NET_S } from './constants.js';
import { NetDevice } from './device.js';
import { parseMac } from './mac.js';

const MAC = parseMac('52:54:00:12:34:56');

test('identity, queues and configuration space: MAC and LINK_UP', () => {
  const d = new NetDevice({ mac: MAC });
  assert.equal(d.deviceType, VIRTIO_ID.NET);
  assert.equal(d.pciClass, PCI_CLASS.NETWORK_ETHERNET);
  assert.deepEqual(d.queueMaxSizes, [256, 256], 'RX and TX');
  assert.equal(d.configSize, VIRTIO_NET_CONFIG.LENGTH);
  const mac = Array.from({ length: 6 }, (_, i) => d.readConfig(VIRTIO_NET_CONFIG.MAC + i, 1));
  assert.deepEqual(mac, [...MAC]);
  assert.equal(d.readConfig(VIRTIO_NET_CONFIG.MAC, 4), 0x12005452, 'little-endian multi-byte read');
  assert.equal(d.readConfig(VIRTIO_NET_CONFIG.STATUS, 2), VIRTIO_NET_S.LINK_UP);
  d.writeConfig(VIRTIO_NET_CONFIG.MAC, 1, 0xff);
  assert.equal(d.readConfig(VIRTIO_NET_CONFIG.MAC, 1), 0x52, 'config is read-only');
  MAC[0] = 0x02;
  assert.equal(d.readConfig(VIRTIO_NET_CONFIG.MAC, 1), 0x52, 'the device keeps its own copy');
  MAC[0] = 0x52;
  assert.deepEqual(new NetDevice({ mac: MAC, queueSize: 64 }).queueMaxSizes, [64, 64]);
  assert.throws(() => new NetDevice({ mac: new Uint8Array(5) }), /6 bytes/);
});

test('offered features, with and without offloads; never UFO, MQ or a control queue', () => {
  const has = (d: NetDevice, bit: number): boolean => (d.features & featureBit(bit)) !== 0n;
  const d = new NetDevice({ mac: MAC });
  const base = [VIRTIO_F.VERSION_1, VIRTIO_F.RING_PACKED, VIRTIO_F.RING_EVENT_IDX, VIRTIO_F.INDIRECT_DESC, VIRTIO_NET_F.MAC, VIRTIO_NET_F.STATUS, VIRTIO_NET_F.MRG_RXBUF];
  const offloads = [VIRTIO_NET_F.CSUM, VIRTIO_NET_F.GUEST_CSUM, VIRTIO_NET_F.GUEST_TSO4, VIRTIO_NET_F.GUEST_TSO6, VIRTIO_NET_F.GUEST_ECN, VIRTIO_NET_F.HOST_TSO4, VIRTIO_NET_F.HOST_TSO6, VIRTIO_NET_F.HOST_ECN];
  for (const bit of [...base, ...offloads]) assert.ok(has(d, bit), `feature ${bit}`);
  for (const bit of [VIRTIO_NET_F.GUEST_UFO, VIRTIO_NET_F.HOST_UFO, VIRTIO_NET_F.MQ, VIRTIO_NET_F.CTRL_VQ, VIRTIO_NET_F.HOST_USO]) assert.ok(!has(d, bit), `not feature ${bit}`);
  const plain = new NetDevice({ mac: MAC, offloads: false });
  for (const bit of base) assert.ok(has(plain, bit), `feature ${bit}`);
  for (const bit of offloads) assert.ok(!has(plain, bit), `no offload ${bit}`);
});
