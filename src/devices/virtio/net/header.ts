// struct virtio_net_hdr (virtio 1.2 §5.1.6): decode, encode, and the checks a
// transmitted header must pass before its frame goes to the TAP. Pure.
//
// The TAP (IFF_VNET_HDR) takes and gives the same header, so frames pass
// through without translation: TX writes the guest's header as is, RX lets
// the kernel write it into guest memory and only fills num_buffers (tun
// skips those two bytes). The kernel validates a TX header again
// (virtio_net_hdr_to_skb), so a guest that rewrites its header after
// checkTxHeader ran only gets its own frame refused; the check here is what
// turns a bad header into a counted drop instead of a write error.
import { VIRTIO_F, featureBit } from '../constants.js';
import { VIRTIO_NET_F, VIRTIO_NET_HDR, VIRTIO_NET_HDR_F, VIRTIO_NET_HDR_GSO } from './constants.js';

export interface VnetHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
  numBuffers: number;
}

export function emptyHeader(): VnetHeader {
  return { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0, numBuffers: 0 };
}

/** Header bytes for the negotiated features: 12 with VERSION_1 or MRG_RXBUF, else 10 (§5.1.6). */
export function vnetHeaderSize(features: bigint): number {
  const long = featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_NET_F.MRG_RXBUF);
  return (features & long) !== 0n ? VIRTIO_NET_HDR.SIZE : VIRTIO_NET_HDR.LEGACY_SIZE;
}

function getU16(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8)) >>> 0;
}

function putU16(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
}

/** Reads a header from `bytes` (10 or 12 bytes; num_buffers is 0 when absent) into `into`. */
export function decodeHeader(bytes: Uint8Array, into: VnetHeader = emptyHeader()): VnetHeader {
  if (bytes.length < VIRTIO_NET_HDR.LEGACY_SIZE) throw new RangeError(`virtio-net header needs ${VIRTIO_NET_HDR.LEGACY_SIZE} bytes, got ${bytes.length}`);
  into.flags = bytes[VIRTIO_NET_HDR.FLAGS]!;
  into.gsoType = bytes[VIRTIO_NET_HDR.GSO_TYPE]!;
  into.hdrLen = getU16(bytes, VIRTIO_NET_HDR.HDR_LEN);
  into.gsoSize = getU16(bytes, VIRTIO_NET_HDR.GSO_SIZE);
  into.csumStart = getU16(bytes, VIRTIO_NET_HDR.CSUM_START);
  into.csumOffset = getU16(bytes, VIRTIO_NET_HDR.CSUM_OFFSET);
  into.numBuffers = bytes.length >= VIRTIO_NET_HDR.SIZE ? getU16(bytes, VIRTIO_NET_HDR.NUM_BUFFERS) : 0;
  return into;
}

/** Writes `h` into `into` (10 or 12 bytes). */
export function encodeHeader(h: VnetHeader, into: Uint8Array): void {
  if (into.length < VIRTIO_NET_HDR.LEGACY_SIZE) throw new RangeError(`virtio-net header needs ${VIRTIO_NET_HDR.LEGACY_SIZE} bytes, got ${into.length}`);
  into[VIRTIO_NET_HDR.FLAGS] = h.flags & 0xff;
  into[VIRTIO_NET_HDR.GSO_TYPE] = h.gsoType & 0xff;
  putU16(into, VIRTIO_NET_HDR.HDR_LEN, h.hdrLen);
  putU16(into, VIRTIO_NET_HDR.GSO_SIZE, h.gsoSize);
  putU16(into, VIRTIO_NET_HDR.CSUM_START, h.csumStart);
  putU16(into, VIRTIO_NET_HDR.CSUM_OFFSET, h.csumOffset);
  if (into.length >= VIRTIO_NET_HDR.SIZE) putU16(into, VIRTIO_NET_HDR.NUM_BUFFERS, h.numBuffers);
}

const has = (features: bigint, bit: number): boolean => (features & featureBit(bit)) !== 0n;

/** The transmit offloads a header may ask for, from the negotiated features (computed once, not per frame). */
export interface TxOffloads {
  readonly csum: boolean;
  readonly tso4: boolean;
  readonly tso6: boolean;
  readonly ecn: boolean;
}

export function txOffloads(features: bigint): TxOffloads {
  return { csum: has(features, VIRTIO_NET_F.CSUM), tso4: has(features, VIRTIO_NET_F.HOST_TSO4), tso6: has(features, VIRTIO_NET_F.HOST_TSO6), ecn: has(features, VIRTIO_NET_F.HOST_ECN) };
}

/** checkTxHeaderFor with the offloads of `features`. */
export function checkTxHeader(h: VnetHeader, frameLen: number, features: bigint): string | null {
  return checkTxHeaderFor(h, frameLen, txOffloads(features));
}

/**
 * Checks a header the driver sent with a `frameLen`-byte frame against the
 * negotiated offloads (§5.1.6.2). Returns why it is refused, or null.
 * Rules: only NEEDS_CSUM may be set (DATA_VALID and RSC_INFO are for the
 * device); NEEDS_CSUM needs VIRTIO_NET_F_CSUM and a checksum field inside the
 * frame; a GSO type needs its HOST_* feature, NEEDS_CSUM and a non-zero
 * gso_size; ECN needs HOST_ECN and a TCP type. UDP (UFO) and UDP_L4 (USO)
 * are never offered, so never accepted.
 */
export function checkTxHeaderFor(h: VnetHeader, frameLen: number, offloads: TxOffloads): string | null {
  if ((h.flags & ~VIRTIO_NET_HDR_F.NEEDS_CSUM) !== 0) return `header flags 0x${h.flags.toString(16)} not allowed from the driver`;
  const needsCsum = (h.flags & VIRTIO_NET_HDR_F.NEEDS_CSUM) !== 0;
  if (needsCsum) {
    if (!offloads.csum) return 'NEEDS_CSUM without VIRTIO_NET_F_CSUM';
    if (h.csumStart + h.csumOffset + 2 > frameLen) return `checksum at ${h.csumStart}+${h.csumOffset} outside the ${frameLen}-byte frame`;
  }
  const ecn = (h.gsoType & VIRTIO_NET_HDR_GSO.ECN) !== 0;
  const type = h.gsoType & ~VIRTIO_NET_HDR_GSO.ECN;
  if (type === VIRTIO_NET_HDR_GSO.NONE) return ecn ? 'ECN flag without a GSO type' : null;
  let feature: number;
  let allowed: boolean;
  switch (type) {
    case VIRTIO_NET_HDR_GSO.TCPV4:
      feature = VIRTIO_NET_F.HOST_TSO4;
      allowed = offloads.tso4;
      break;
    case VIRTIO_NET_HDR_GSO.TCPV6:
      feature = VIRTIO_NET_F.HOST_TSO6;
      allowed = offloads.tso6;
      break;
    default:
      return `GSO type ${type} not supported`;
  }
  if (!allowed) return `GSO type ${type} without its feature (bit ${feature})`;
  if (ecn && !offloads.ecn) return 'GSO ECN without VIRTIO_NET_F_HOST_ECN';
  if (!needsCsum) return 'GSO frame without NEEDS_CSUM';
  if (h.gsoSize === 0) return 'GSO frame with gso_size 0';
  return null;
}
