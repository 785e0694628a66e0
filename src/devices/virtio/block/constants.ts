// virtio-blk constants (virtio 1.2 §5.2; Linux include/uapi/linux/virtio_blk.h).

/** Feature bit numbers (§5.2.3). */
export const VIRTIO_BLK_F = {
  SIZE_MAX: 1,
  SEG_MAX: 2,
  GEOMETRY: 4,
  RO: 5,
  BLK_SIZE: 6,
  FLUSH: 9,
  TOPOLOGY: 10,
  CONFIG_WCE: 11,
  MQ: 12,
  DISCARD: 13,
  WRITE_ZEROES: 14,
} as const;

/** Request types (§5.2.6). */
export const VIRTIO_BLK_T = {
  IN: 0,
  OUT: 1,
  FLUSH: 4,
  GET_ID: 8,
  GET_LIFETIME: 10,
  DISCARD: 11,
  WRITE_ZEROES: 13,
  SECURE_ERASE: 14,
} as const;

/** Request status byte values (§5.2.6). */
export const VIRTIO_BLK_S = {
  OK: 0,
  IOERR: 1,
  UNSUPP: 2,
} as const;

export const VIRTIO_BLK = {
  /** Sectors are always 512 bytes, whatever blk_size says (§5.2.6). */
  SECTOR_SIZE: 512,
  SECTOR_SHIFT: 9,
  /** struct virtio_blk_outhdr: type u32, reserved u32, sector u64 (§5.2.6). */
  HEADER_SIZE: 16,
  /** GET_ID answers with at most 20 bytes (§5.2.6: VIRTIO_BLK_ID_BYTES). */
  ID_BYTES: 20,
  /** struct virtio_blk_discard_write_zeroes: sector u64, num_sectors u32, flags u32. */
  DWZ_SEGMENT_SIZE: 16,
  DWZ_FLAG_UNMAP: 1,
} as const;

/** struct virtio_blk_config offsets (§5.2.4). */
export const VIRTIO_BLK_CONFIG = {
  CAPACITY: 0,
  SIZE_MAX: 8,
  SEG_MAX: 12,
  GEOMETRY: 16,
  BLK_SIZE: 20,
  TOPOLOGY: 24,
  WRITEBACK: 32,
  NUM_QUEUES: 34,
  MAX_DISCARD_SECTORS: 36,
  MAX_DISCARD_SEG: 40,
  DISCARD_SECTOR_ALIGNMENT: 44,
  MAX_WRITE_ZEROES_SECTORS: 48,
  MAX_WRITE_ZEROES_SEG: 52,
  WRITE_ZEROES_MAY_UNMAP: 56,
  /** Through write_zeroes_may_unmap and its padding. */
  LENGTH: 60,
} as const;

/** Queues: one request queue (no VIRTIO_BLK_F_MQ). */
export const VIRTIO_BLK_QUEUE = { REQUEST: 0, COUNT: 1 } as const;
