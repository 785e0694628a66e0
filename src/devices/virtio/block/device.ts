// virtio-blk (virtio 1.2 §5.2): the config model the transport uses on the
// vCPU side: features, queue count and size, and the configuration space,
// all fixed at construction. The device worker's side is the executor
// (executor.ts), built from the same options through blockLimits(); parsing
// lives in request.ts.
import { PCI_CLASS } from '../../../pci/constants.js';
import { VIRTIO_F, VIRTIO_ID, featureBit } from '../constants.js';
import type { VirtioDevice } from '../device.js';
import { readConfigBytes } from '../device.js';
import { VIRTIO_BLK, VIRTIO_BLK_CONFIG, VIRTIO_BLK_F, VIRTIO_BLK_QUEUE } from './constants.js';
import type { BlockLimits } from './request.js';

export interface BlockDeviceOptions {
  /** Disk size in bytes (a multiple of 512). */
  readonly size: number;
  readonly readOnly: boolean;
  /** GET_ID answer; at most 20 bytes are used. */
  readonly serial: string;
  /** Queue size offered (power of two); default 256. */
  readonly queueSize?: number;
  /** Largest data segment; default 1 MiB. */
  readonly sizeMax?: number;
  /** Where I/O errors are reported (the executor); default console.error. */
  readonly log?: (line: string) => void;
}

/** Largest DISCARD / WRITE_ZEROES request, in sectors (ours: 32 MiB). */
const MAX_DWZ_SECTORS = 65536;

/** What requests may be, from the device's options: what the config space offers and the executor enforces. */
export function blockLimits(options: BlockDeviceOptions): BlockLimits {
  if (options.size % VIRTIO_BLK.SECTOR_SIZE !== 0) throw new RangeError(`disk size ${options.size} is not a multiple of ${VIRTIO_BLK.SECTOR_SIZE}`);
  return {
    capacity: options.size / VIRTIO_BLK.SECTOR_SIZE,
    readOnly: options.readOnly,
    // Header and status take two descriptors of a chain bounded by the queue size.
    segMax: Math.max(1, (options.queueSize ?? DEFAULT_QUEUE_SIZE) - 2),
    sizeMax: options.sizeMax ?? 1 << 20,
    maxDiscardSectors: MAX_DWZ_SECTORS,
    maxWriteZeroesSectors: MAX_DWZ_SECTORS,
  };
}

const DEFAULT_QUEUE_SIZE = 256;

export class BlockDevice implements VirtioDevice {
  readonly deviceType = VIRTIO_ID.BLOCK;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = VIRTIO_BLK_CONFIG.LENGTH;
  readonly pciClass = PCI_CLASS.STORAGE_SCSI;
  readonly limits: BlockLimits;
  private readonly configBytes = new Uint8Array(VIRTIO_BLK_CONFIG.LENGTH);

  constructor(options: BlockDeviceOptions) {
    this.limits = blockLimits(options);
    this.queueMaxSizes = new Array<number>(VIRTIO_BLK_QUEUE.COUNT).fill(options.queueSize ?? DEFAULT_QUEUE_SIZE);
    let f = featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_F.RING_PACKED) | featureBit(VIRTIO_F.RING_EVENT_IDX) | featureBit(VIRTIO_F.INDIRECT_DESC);
    f |= featureBit(VIRTIO_BLK_F.SIZE_MAX) | featureBit(VIRTIO_BLK_F.SEG_MAX) | featureBit(VIRTIO_BLK_F.BLK_SIZE) | featureBit(VIRTIO_BLK_F.FLUSH);
    f |= options.readOnly ? featureBit(VIRTIO_BLK_F.RO) : featureBit(VIRTIO_BLK_F.DISCARD) | featureBit(VIRTIO_BLK_F.WRITE_ZEROES);
    this.features = f;
    const v = new DataView(this.configBytes.buffer);
    const C = VIRTIO_BLK_CONFIG;
    v.setBigUint64(C.CAPACITY, BigInt(this.limits.capacity), true);
    v.setUint32(C.SIZE_MAX, this.limits.sizeMax, true);
    v.setUint32(C.SEG_MAX, this.limits.segMax, true);
    v.setUint32(C.BLK_SIZE, VIRTIO_BLK.SECTOR_SIZE, true);
    v.setUint16(C.NUM_QUEUES, 1, true);
    v.setUint32(C.MAX_DISCARD_SECTORS, MAX_DWZ_SECTORS, true);
    v.setUint32(C.MAX_DISCARD_SEG, 1, true);
    v.setUint32(C.DISCARD_SECTOR_ALIGNMENT, 1, true);
    v.setUint32(C.MAX_WRITE_ZEROES_SECTORS, MAX_DWZ_SECTORS, true);
    v.setUint32(C.MAX_WRITE_ZEROES_SEG, 1, true);
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.configBytes, offset, size);
  }

  /** Nothing in the configuration is writable without CONFIG_WCE (not offered). */
  writeConfig(_offset: number, _size: number, _value: number): void {}

  activate(_features: bigint): void {}
  reset(): void {}
}
