// A virtio device's counters, in a SharedArrayBuffer the VMM's main thread
// reads for metrics. The device's queue worker is the only writer (plain
// stores into a Float64Array: an aligned 8-byte store, so a reader sees an
// old or a new value, never a torn one; doubles count exactly to 2^53).

/** Counter slots; which ones a kind fills is listed in METRIC_NAMES. */
export const DEVICE_METRIC = {
  /** Queue notifications the worker took (ioeventfd wake-ups; several kicks may merge into one). */
  KICKS: 0,
  /** Interrupts raised (MSI-X vector or INTx assertion). */
  INTERRUPTS: 1,
  /** virtio-blk: requests completed, by kind, and their data. */
  READS: 2,
  WRITES: 3,
  FLUSHES: 4,
  READ_BYTES: 5,
  WRITE_BYTES: 6,
  /** Requests or chains refused or failed (an I/O error, a malformed chain). */
  ERRORS: 7,
  /** virtio-net: frames and bytes each way, and frames dropped. */
  RX_FRAMES: 8,
  RX_BYTES: 9,
  RX_DROPPED: 10,
  TX_FRAMES: 11,
  TX_BYTES: 12,
  TX_DROPPED: 13,
  /** Other requests (discard, write-zeroes, get-id). */
  OTHER: 14,
} as const;
/** Float64 slots per device. */
export const DEVICE_METRIC_SLOTS = 16;

const M = DEVICE_METRIC;
/** The counters each kind reports, by metric name. */
export const METRIC_NAMES: Record<'blk' | 'net', ReadonlyArray<readonly [string, number]>> = {
  blk: [
    ['kicks', M.KICKS],
    ['interrupts', M.INTERRUPTS],
    ['reads', M.READS],
    ['writes', M.WRITES],
    ['flushes', M.FLUSHES],
    ['other_requests', M.OTHER],
    ['read_bytes', M.READ_BYTES],
    ['write_bytes', M.WRITE_BYTES],
    ['errors', M.ERRORS],
  ],
  net: [
    ['kicks', M.KICKS],
    ['interrupts', M.INTERRUPTS],
    ['rx_frames', M.RX_FRAMES],
    ['rx_bytes', M.RX_BYTES],
    ['rx_dropped', M.RX_DROPPED],
    ['tx_frames', M.TX_FRAMES],
    ['tx_bytes', M.TX_BYTES],
    ['tx_dropped', M.TX_DROPPED],
    ['errors', M.ERRORS],
  ],
};

export function createDeviceCounters(): SharedArrayBuffer {
  return new SharedArrayBuffer(8 * DEVICE_METRIC_SLOTS);
}

/** The named counters of one device. */
export function deviceCounts(kind: 'blk' | 'net', buffer: SharedArrayBuffer): Record<string, number> {
  const v = new Float64Array(buffer);
  return Object.fromEntries(METRIC_NAMES[kind].map(([name, slot]) => [name, v[slot]!]));
}
