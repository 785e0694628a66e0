// The warm-up's synthetic devices (warmup.ts): where their rings and buffers
// lie in the private memory, and the transport state a driver would have
// left at DRIVER_OK for each scenario.
import { PACKED, VIRTIO_F, VIRTIO_PCI, VIRTIO_STATUS } from './constants.js';
import { queueWord, QUEUE_WORD, SHARED } from './shared_state.js';
import { splitRingSizes } from './queue_split.js';
import type { QueueLayout } from './queue.js';

/** What a driver negotiated. */
export interface Scenario {
  readonly packed: boolean;
  readonly eventIdx: boolean;
  readonly msix: boolean;
  /** virtio-net feature bits beyond VERSION_1 and the ring's. */
  readonly net: readonly number[];
  /** Queue size (a small one makes one round reach the device's per-call budget). */
  readonly size: number;
  /** Descriptors per driver slot: TX chains of 1 buffer only, or 1 and 2 (header apart). */
  readonly perSlot: number;
  /** net: TX chains posted per round (more than a TX batch: a full batch is written before the ring is empty). */
  readonly txBurst: number;
  /** net: every this many rounds the driver leaves the RX ring to run dry (0: never), so RX starves and is kicked back. */
  readonly starveEvery: number;
}

/** The private memory: above 4 GiB; rings first (one stride per queue), then each scenario's buffers. */
export const WARM = {
  GPA: 0x1_0000_0000,
  RAM: 2 << 20,
  RING_STRIDE: 0x2000,
  DATA: 0x1_0000_0000 + 0x1_0000,
  DATA_STRIDE: 0x4_0000,
  /** A receive or transmit buffer. */
  SLOT: 2048,
  /** The stand-in disk. */
  DISK: 1 << 20,
} as const;

/** Queue q of scenario n (at most 128 entries). */
export function warmLayout(n: number, q: number, packed: boolean, size: number): QueueLayout {
  const desc = WARM.GPA + (2 * n + q) * WARM.RING_STRIDE;
  if (packed) return { size, desc, driver: desc + size * PACKED.DESC_SIZE, device: desc + size * PACKED.DESC_SIZE + 0x10 };
  const sizes = splitRingSizes(size);
  const driver = desc + sizes.desc;
  return { size, desc, driver, device: Math.ceil((driver + sizes.avail) / 0x10) * 0x10 };
}

const split64 = (v: number): [number, number] => [v % 0x1_0000_0000, Math.floor(v / 0x1_0000_0000)];

/** The transport's shared words as scenario n's driver leaves them just before DRIVER_OK. */
export function configureState(state: Int32Array, numQueues: number, s: Scenario, n: number, net: boolean): void {
  const bits = [VIRTIO_F.VERSION_1, ...(s.packed ? [VIRTIO_F.RING_PACKED] : []), ...(s.eventIdx ? [VIRTIO_F.RING_EVENT_IDX] : []), ...(net ? s.net : [])];
  let lo = 0;
  let hi = 0;
  for (const b of bits) {
    if (b < 32) lo |= 1 << b;
    else hi |= 1 << (b - 32);
  }
  Atomics.store(state, SHARED.FEATURES_LO, lo);
  Atomics.store(state, SHARED.FEATURES_HI, hi);
  Atomics.store(state, SHARED.MSIX_ENABLED, s.msix ? 1 : 0);
  Atomics.store(state, SHARED.CONFIG_VECTOR, s.msix ? numQueues : VIRTIO_PCI.NO_VECTOR);
  Atomics.store(state, SHARED.NUM_QUEUES, numQueues);
  for (let q = 0; q < numQueues; q++) {
    const l = warmLayout(n, q, s.packed, s.size);
    const w = (word: number, v: number): void => void Atomics.store(state, queueWord(q, word), v);
    w(QUEUE_WORD.SIZE, l.size);
    w(QUEUE_WORD.ENABLED, 1);
    w(QUEUE_WORD.VECTOR, s.msix ? q : VIRTIO_PCI.NO_VECTOR);
    for (const [lo32, part] of [[QUEUE_WORD.DESC_LO, l.desc], [QUEUE_WORD.DRIVER_LO, l.driver], [QUEUE_WORD.DEVICE_LO, l.device]] as const) {
      const [low, high] = split64(part);
      w(lo32, low | 0);
      w(lo32 + 1, high);
    }
  }
  Atomics.store(state, SHARED.STATUS, VIRTIO_STATUS.ACKNOWLEDGE | VIRTIO_STATUS.DRIVER | VIRTIO_STATUS.FEATURES_OK);
}
