import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VIRTIO_F, featureBit } from '../constants.js';
import { VIRTIO_NET_F, VIRTIO_NET_HDR, VIRTIO_NET_HDR_F, VIRTIO_NET_HDR_GSO } from './constants.js';
import { checkTxHeader, decodeHeader, emptyHeader, encodeHeader, vnetHeaderSize, type VnetHeader } from './header.js';

const f = (...bits: number[]): bigint => bits.reduce((acc, b) => acc | featureBit(b), 0n);

test('virtio_net_hdr round trip, little-endian, 12 and 10 bytes', () => {
  const h: VnetHeader = { flags: 1, gsoType: 0x84, hdrLen: 0x1234, gsoSize: 1448, csumStart: 34, csumOffset: 16, numBuffers: 0x0203 };
  const bytes = new Uint8Array(VIRTIO_NET_HDR.SIZE);
  encodeHeader(h, bytes);
  assert.deepEqual([...bytes], [1, 0x84, 0x34, 0x12, 0xa8, 0x05, 34, 0, 16, 0, 3, 2]);
  assert.deepEqual(decodeHeader(bytes), h);
  const legacy = new Uint8Array(VIRTIO_NET_HDR.LEGACY_SIZE);
  encodeHeader(h, legacy);
  assert.deepEqual(decodeHeader(legacy), { ...h, numBuffers: 0 }, 'no num_buffers in the 10-byte header');
  const reused = emptyHeader();
  assert.equal(decodeHeader(bytes, reused), reused, 'decodes into the given object');
  assert.throws(() => decodeHeader(new Uint8Array(9)), RangeError);
  assert.throws(() => encodeHeader(h, new Uint8Array(4)), RangeError);
});

test('header size follows VERSION_1 / MRG_RXBUF (§5.1.6)', () => {
  assert.equal(vnetHeaderSize(f(VIRTIO_F.VERSION_1)), 12);
  assert.equal(vnetHeaderSize(f(VIRTIO_NET_F.MRG_RXBUF)), 12);
  assert.equal(vnetHeaderSize(f(VIRTIO_NET_F.CSUM)), 10);
});

test('transmit header checks against negotiated offloads', () => {
  const all = f(VIRTIO_F.VERSION_1, VIRTIO_NET_F.CSUM, VIRTIO_NET_F.HOST_TSO4, VIRTIO_NET_F.HOST_TSO6, VIRTIO_NET_F.HOST_ECN);
  const h = (p: Partial<VnetHeader>): VnetHeader => ({ ...emptyHeader(), ...p });
  const csum = VIRTIO_NET_HDR_F.NEEDS_CSUM;
  const tso = { flags: csum, csumStart: 34, csumOffset: 16, gsoSize: 1448, hdrLen: 66 };
  assert.equal(checkTxHeader(h({}), 60, 0n), null, 'a plain frame needs no feature');
  assert.equal(checkTxHeader(h({ flags: csum, csumStart: 34, csumOffset: 6 }), 60, all), null);
  assert.equal(checkTxHeader(h({ ...tso, gsoType: VIRTIO_NET_HDR_GSO.TCPV4 }), 9000, all), null);
  assert.equal(checkTxHeader(h({ ...tso, gsoType: VIRTIO_NET_HDR_GSO.TCPV6 | VIRTIO_NET_HDR_GSO.ECN }), 9000, all), null);
  const bad: Array<[Partial<VnetHeader>, number, bigint, RegExp]> = [
    [{ flags: VIRTIO_NET_HDR_F.DATA_VALID }, 60, all, /flags 0x2 not allowed/],
    [{ flags: csum, csumStart: 34, csumOffset: 6 }, 60, 0n, /without VIRTIO_NET_F_CSUM/],
    [{ flags: csum, csumStart: 58, csumOffset: 1 }, 60, all, /outside the 60-byte frame/],
    [{ flags: csum, csumStart: 0xffff, csumOffset: 0xffff }, 60, all, /outside/],
    [{ ...tso, gsoType: VIRTIO_NET_HDR_GSO.TCPV4 }, 9000, f(VIRTIO_NET_F.CSUM), /without its feature/],
    [{ ...tso, gsoType: VIRTIO_NET_HDR_GSO.UDP }, 9000, all, /GSO type 3 not supported/],
    [{ ...tso, gsoType: VIRTIO_NET_HDR_GSO.UDP_L4 }, 9000, all, /GSO type 5 not supported/],
    [{ ...tso, gsoType: VIRTIO_NET_HDR_GSO.TCPV4 | VIRTIO_NET_HDR_GSO.ECN }, 9000, f(VIRTIO_NET_F.CSUM, VIRTIO_NET_F.HOST_TSO4), /HOST_ECN/],
    [{ gsoType: VIRTIO_NET_HDR_GSO.ECN }, 60, all, /ECN flag without/],
    [{ ...tso, flags: 0, gsoType: VIRTIO_NET_HDR_GSO.TCPV4 }, 9000, all, /without NEEDS_CSUM/],
    [{ ...tso, gsoSize: 0, gsoType: VIRTIO_NET_HDR_GSO.TCPV4 }, 9000, all, /gso_size 0/],
  ];
  for (const [hdr, len, features, pattern] of bad) assert.match(checkTxHeader(h(hdr), len, features) ?? 'accepted', pattern);
});
