// The limits and shapes of virtio-net RX (rx.ts, rx_held.ts): batch size,
// spill room, the memory bound on what it holds, options and counters.
//
// Memory is O(queue size) whatever the chains look like: a chain has at most
// queue-size buffers (the queues enforce it), the device takes no further
// chain once those it holds have queue-size buffers together (a frame that
// needs more is dropped), a chain's slots grow by doubling (fewer than twice
// its buffers), and an idle chain keeps at most RX_RETAINED_SEGMENTS slots.
// So at most RX_SEGMENTS_PER_QUEUE_ENTRY x size slots are kept
// (rx_memory.test.ts).
// Linux's receive chains have one buffer (mergeable) or hold one chain at
// a time (big packets), so the limit never bites them.

/** Frames one batch reads at most (one addon call). */
export const RX_BATCH = 32;

/**
 * Room after the guest buffers: a 64 KiB GSO frame with its Ethernet and
 * VLAN headers and the virtio header, rounded up. A frame that fills guest
 * buffers and spill completely may have been cut short, and is dropped.
 */
export const RX_SPILL_SIZE = 65536 + 4096;

/** Buffer slots an idle receive chain keeps for reuse: Linux's receive chains have 1 or 2 buffers. */
export const RX_RETAINED_SEGMENTS = 2;

/**
 * Upper bound on the buffer slots NetRx keeps, per queue entry: buffers of
 * held chains below the queue size plus one more chain (< 2 x size), in
 * slots grown by doubling (< 2 x that), and RX_RETAINED_SEGMENTS for each of
 * the `size` chain objects.
 */
export const RX_SEGMENTS_PER_QUEUE_ENTRY = 4 + RX_RETAINED_SEGMENTS;


export interface NetRxOptions {
  /** virtio_net_hdr size (12 with VERSION_1; header.ts vnetHeaderSize). */
  readonly headerSize: number;
  /** VIRTIO_NET_F_MRG_RXBUF was negotiated. */
  readonly mergeable: boolean;
  /** With MRG_RXBUF: guest buffer bytes to hold before reading a frame. Default: one full-size Ethernet frame. */
  readonly gather?: number;
  readonly log?: (line: string) => void;
}

export interface RxStats {
  /** Frames delivered to the driver. */
  frames: number;
  /** Bytes delivered, virtio header excluded. */
  bytes: number;
  /** Frames read from the TAP and not delivered. */
  dropped: number;
  /** Malformed chains returned unused. */
  badChains: number;
}

export type RxStop = 'tap-empty' | 'no-buffers' | 'closed' | 'budget';
