// virtio-net constants (virtio 1.2 §5.1; Linux include/uapi/linux/virtio_net.h).

/** Feature bit numbers (§5.1.3). Only some are offered; see device.ts. */
export const VIRTIO_NET_F = {
  /** Device handles packets with partial checksum (guest -> host). */
  CSUM: 0,
  /** Driver handles packets with partial checksum (host -> guest). */
  GUEST_CSUM: 1,
  CTRL_GUEST_OFFLOADS: 2,
  MTU: 3,
  /** Device has given MAC address (config `mac`). */
  MAC: 5,
  GUEST_TSO4: 7,
  GUEST_TSO6: 8,
  GUEST_ECN: 9,
  GUEST_UFO: 10,
  HOST_TSO4: 11,
  HOST_TSO6: 12,
  HOST_ECN: 13,
  HOST_UFO: 14,
  /** Driver can merge receive buffers (num_buffers in the header). */
  MRG_RXBUF: 15,
  /** Configuration `status` is available. */
  STATUS: 16,
  CTRL_VQ: 17,
  CTRL_RX: 18,
  CTRL_VLAN: 19,
  GUEST_ANNOUNCE: 21,
  MQ: 22,
  CTRL_MAC_ADDR: 23,
  GUEST_USO4: 54,
  GUEST_USO6: 55,
  HOST_USO: 56,
  HASH_REPORT: 57,
  GUEST_HDRLEN: 59,
  RSS: 60,
  RSC_EXT: 61,
  STANDBY: 62,
  SPEED_DUPLEX: 63,
} as const;

/** Configuration `status` bits (§5.1.4). */
export const VIRTIO_NET_S = {
  LINK_UP: 1,
  ANNOUNCE: 2,
} as const;

/**
 * struct virtio_net_config offsets (§5.1.4). Fields past `status` exist only
 * with their feature (MQ, MTU, SPEED_DUPLEX, RSS...); none is offered, so the
 * space ends after max_virtqueue_pairs and mtu, both read as given here.
 */
export const VIRTIO_NET_CONFIG = {
  MAC: 0,
  STATUS: 6,
  MAX_VIRTQUEUE_PAIRS: 8,
  MTU: 10,
  /** Through mtu: a whole number of 32-bit words. */
  LENGTH: 12,
} as const;

/** Queue numbering with one queue pair and no control queue (§5.1.2). */
export const VIRTIO_NET_QUEUE = {
  RX: 0,
  TX: 1,
  COUNT: 2,
} as const;

/**
 * struct virtio_net_hdr (§5.1.6). With VIRTIO_F_VERSION_1 (or legacy
 * MRG_RXBUF) it is 12 bytes: num_buffers is always present. All fields are
 * little-endian.
 */
export const VIRTIO_NET_HDR = {
  FLAGS: 0,
  GSO_TYPE: 1,
  HDR_LEN: 2,
  GSO_SIZE: 4,
  CSUM_START: 6,
  CSUM_OFFSET: 8,
  NUM_BUFFERS: 10,
  /** Size with VERSION_1 or MRG_RXBUF (§5.1.6: num_buffers is always there). */
  SIZE: 12,
  /** Legacy size without MRG_RXBUF (§5.1.6.1, "legacy interface"). */
  LEGACY_SIZE: 10,
} as const;

/** virtio_net_hdr.flags (§5.1.6). */
export const VIRTIO_NET_HDR_F = {
  NEEDS_CSUM: 1,
  DATA_VALID: 2,
  RSC_INFO: 4,
} as const;

/** virtio_net_hdr.gso_type (§5.1.6). ECN is a flag on the TCP types. */
export const VIRTIO_NET_HDR_GSO = {
  NONE: 0,
  TCPV4: 1,
  UDP: 3,
  TCPV6: 4,
  UDP_L4: 5,
  ECN: 0x80,
} as const;

/** Ethernet sizes (include/uapi/linux/if_ether.h). */
export const ETH = {
  /** Destination + source MAC + EtherType. */
  HLEN: 14,
  /** Largest untagged frame without FCS (ETH_FRAME_LEN). */
  FRAME_LEN: 1514,
  /** An 802.1Q tag (VLAN_HLEN, include/linux/if_vlan.h). */
  VLAN_HLEN: 4,
  ALEN: 6,
} as const;

/**
 * Largest frame (after the virtio header) the guest may send: a 64 KiB GSO
 * packet (the kernel's GSO_MAX_SIZE, include/linux/netdevice.h). Longer TX
 * chains are dropped and counted.
 */
export const MAX_TX_FRAME = 65536;
