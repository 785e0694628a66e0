// virtio-net (virtio 1.2 §5.1): identity, offered features and configuration
// space. One RX/TX queue pair (RX = 0, TX = 1), no control queue. Frames are
// moved by rx.ts and tx.ts on the device's worker thread; this object holds
// nothing they change, so the transport (vCPU thread) may use it freely.
//
// Offered: VERSION_1, packed and split rings, EVENT_IDX, INDIRECT_DESC; MAC,
// STATUS (always LINK_UP: the TAP carries the link), MRG_RXBUF; and with
// `offloads` (default on) the checksum and TSO offloads a TAP supports in
// both directions: CSUM/GUEST_CSUM, HOST_/GUEST_TSO4, TSO6, ECN. The TAP is
// told which of the GUEST_* ones the driver took (tap.ts tunOffloadFlags).
// UFO is not offered: Linux dropped UFO in 4.14, tun accepts TUN_F_UFO only
// for compatibility and never produces UFO packets, and a guest sending UDP
// GSO frames would depend on the host kernel re-segmenting them.
import { PCI_CLASS } from '../../../pci/constants.js';
import { VIRTIO_F, VIRTIO_ID, featureBit } from '../constants.js';
import type { VirtioDevice } from '../device.js';
import { readConfigBytes } from '../device.js';
import { ETH, VIRTIO_NET_CONFIG, VIRTIO_NET_F, VIRTIO_NET_QUEUE, VIRTIO_NET_S } from './constants.js';
import { MacError } from './mac.js';

export interface NetDeviceOptions {
  /** The guest's MAC (6 bytes, unicast). */
  readonly mac: Uint8Array;
  /** Size offered for each queue (power of two); default 256. */
  readonly queueSize?: number;
  /** Offer checksum and TSO offloads; default true. */
  readonly offloads?: boolean;
}

const OFFLOAD_FEATURES = [
  VIRTIO_NET_F.CSUM,
  VIRTIO_NET_F.GUEST_CSUM,
  VIRTIO_NET_F.GUEST_TSO4,
  VIRTIO_NET_F.GUEST_TSO6,
  VIRTIO_NET_F.GUEST_ECN,
  VIRTIO_NET_F.HOST_TSO4,
  VIRTIO_NET_F.HOST_TSO6,
  VIRTIO_NET_F.HOST_ECN,
] as const;

export class NetDevice implements VirtioDevice {
  readonly deviceType = VIRTIO_ID.NET;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = VIRTIO_NET_CONFIG.LENGTH;
  readonly pciClass = PCI_CLASS.NETWORK_ETHERNET;
  readonly mac: Uint8Array;
  private readonly configBytes = new Uint8Array(VIRTIO_NET_CONFIG.LENGTH);

  constructor(options: NetDeviceOptions) {
    if (options.mac.length !== ETH.ALEN) throw new MacError(`a MAC address has ${ETH.ALEN} bytes, not ${options.mac.length}`);
    const queueSize = options.queueSize ?? 256;
    this.mac = Uint8Array.from(options.mac);
    this.queueMaxSizes = new Array<number>(VIRTIO_NET_QUEUE.COUNT).fill(queueSize);
    let f = featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_F.RING_PACKED) | featureBit(VIRTIO_F.RING_EVENT_IDX) | featureBit(VIRTIO_F.INDIRECT_DESC);
    f |= featureBit(VIRTIO_NET_F.MAC) | featureBit(VIRTIO_NET_F.STATUS) | featureBit(VIRTIO_NET_F.MRG_RXBUF);
    if (options.offloads !== false) for (const bit of OFFLOAD_FEATURES) f |= featureBit(bit);
    this.features = f;
    const v = new DataView(this.configBytes.buffer);
    this.configBytes.set(this.mac, VIRTIO_NET_CONFIG.MAC);
    v.setUint16(VIRTIO_NET_CONFIG.STATUS, VIRTIO_NET_S.LINK_UP, true);
    // Meaningful only with MQ / MTU (not offered); one pair, mtu left 0.
    v.setUint16(VIRTIO_NET_CONFIG.MAX_VIRTQUEUE_PAIRS, 1, true);
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.configBytes, offset, size);
  }

  /** The configuration is read-only for a modern driver (§5.1.4: mac is written only by legacy drivers). */
  writeConfig(_offset: number, _size: number, _value: number): void {}

  activate(_features: bigint): void {}
  reset(): void {}
}
