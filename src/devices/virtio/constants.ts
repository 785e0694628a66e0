// Virtio 1.2 constants (OASIS "Virtual I/O Device (VIRTIO) Version 1.2",
// cited as "§section"). Linux mirrors them in include/uapi/linux/virtio_*.h.

/** Device status bits (§2.1). */
export const VIRTIO_STATUS = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 64,
  FAILED: 128,
} as const;

/** Reserved (device-independent) feature bit numbers (§6). */
export const VIRTIO_F = {
  INDIRECT_DESC: 28,
  RING_EVENT_IDX: 29,
  VERSION_1: 32,
  ACCESS_PLATFORM: 33,
  RING_PACKED: 34,
  IN_ORDER: 35,
  NOTIFICATION_DATA: 38,
  RING_RESET: 40,
} as const;

/** A feature bit as a mask. */
export function featureBit(bit: number): bigint {
  return 1n << BigInt(bit);
}

/** Device ids (§5). */
export const VIRTIO_ID = {
  NET: 1,
  BLOCK: 2,
  CONSOLE: 3,
  RNG: 4,
} as const;

/** PCI ids for modern virtio devices (§4.1.2). */
export const VIRTIO_PCI = {
  VENDOR_ID: 0x1af4,
  /** Modern device id = 0x1040 + virtio device id (§4.1.2.1). */
  DEVICE_ID_BASE: 0x1040,
  /** Non-transitional devices have revision >= 1 (§4.1.2.1). */
  REVISION: 1,
  /** MSI-X "no vector" (§4.1.4.3). */
  NO_VECTOR: 0xffff,
} as const;

/** virtio_pci_cap.cfg_type values (§4.1.4). */
export const VIRTIO_PCI_CAP = {
  COMMON_CFG: 1,
  NOTIFY_CFG: 2,
  ISR_CFG: 3,
  DEVICE_CFG: 4,
  PCI_CFG: 5,
  /** struct virtio_pci_cap length (§4.1.4). */
  LENGTH: 16,
  /** struct virtio_pci_notify_cap length: cap + notify_off_multiplier (§4.1.4.4). */
  NOTIFY_LENGTH: 20,
  /** struct virtio_pci_cfg_cap length: cap + pci_cfg_data[4] (§4.1.4.9). */
  PCI_CFG_LENGTH: 20,
} as const;

/** struct virtio_pci_common_cfg field offsets (§4.1.4.3). */
export const VIRTIO_COMMON = {
  DEVICE_FEATURE_SELECT: 0x00,
  DEVICE_FEATURE: 0x04,
  DRIVER_FEATURE_SELECT: 0x08,
  DRIVER_FEATURE: 0x0c,
  CONFIG_MSIX_VECTOR: 0x10,
  NUM_QUEUES: 0x12,
  DEVICE_STATUS: 0x14,
  CONFIG_GENERATION: 0x15,
  QUEUE_SELECT: 0x16,
  QUEUE_SIZE: 0x18,
  QUEUE_MSIX_VECTOR: 0x1a,
  QUEUE_ENABLE: 0x1c,
  QUEUE_NOTIFY_OFF: 0x1e,
  QUEUE_DESC_LO: 0x20,
  QUEUE_DESC_HI: 0x24,
  QUEUE_DRIVER_LO: 0x28,
  QUEUE_DRIVER_HI: 0x2c,
  QUEUE_DEVICE_LO: 0x30,
  QUEUE_DEVICE_HI: 0x34,
  QUEUE_NOTIFY_DATA: 0x38,
  QUEUE_RESET: 0x3a,
  /** Size of the structure in 1.2. */
  LENGTH: 0x3c,
} as const;

/** ISR status bits (§4.1.4.5). */
export const VIRTIO_ISR = {
  QUEUE: 1,
  CONFIG: 2,
} as const;

/** Split virtqueue descriptor flags and layout (§2.7.5, §2.7.6, §2.7.8). */
export const VIRTQ_DESC_F = {
  NEXT: 1,
  WRITE: 2,
  INDIRECT: 4,
} as const;

export const SPLIT = {
  DESC_SIZE: 16,
  DESC_ADDR: 0,
  DESC_LEN: 8,
  DESC_FLAGS: 12,
  DESC_NEXT: 14,
  /** struct virtq_avail: flags, idx, ring[size], used_event. */
  AVAIL_FLAGS: 0,
  AVAIL_IDX: 2,
  AVAIL_RING: 4,
  AVAIL_F_NO_INTERRUPT: 1,
  /** struct virtq_used: flags, idx, ring[size] of {id u32, len u32}, avail_event. */
  USED_FLAGS: 0,
  USED_IDX: 2,
  USED_RING: 4,
  USED_ELEM_SIZE: 8,
  USED_F_NO_NOTIFY: 1,
  /** Alignment of the three parts (§2.7, table "Virtqueue Part Alignment"). */
  DESC_ALIGN: 16,
  AVAIL_ALIGN: 2,
  USED_ALIGN: 4,
  /** Largest queue size (§2.7: "maximum Queue Size value is 32768"). */
  MAX_SIZE: 32768,
} as const;

/** Packed virtqueue layout and flags (§2.8). */
export const PACKED = {
  DESC_SIZE: 16,
  DESC_ADDR: 0,
  DESC_LEN: 8,
  DESC_ID: 12,
  DESC_FLAGS: 14,
  /** Flag bits 7 and 15 (§2.8.1). */
  F_AVAIL: 1 << 7,
  F_USED: 1 << 15,
  /** struct pvirtq_event_suppress: desc (off_wrap) u16, flags u16 (§2.8.10). */
  EVENT_OFF_WRAP: 0,
  EVENT_FLAGS: 2,
  EVENT_SIZE: 4,
  EVENT_FLAGS_ENABLE: 0,
  EVENT_FLAGS_DISABLE: 1,
  EVENT_FLAGS_DESC: 2,
  DESC_ALIGN: 16,
  EVENT_ALIGN: 4,
  MAX_SIZE: 32768,
} as const;
