// virtio-blk (virtio 1.2 §5.2): configuration space, features, and request
// execution. Parsing lives in request.ts; this file acts on parsed requests.
//
// Seams: the transport (vCPU thread) uses the VirtioDevice half (features,
// config space: fixed at construction, so safe to share); the worker thread
// calls execute() with its own GuestMemory mapping and backend. DISCARD
// punches a hole in the image (fallocate PUNCH_HOLE|KEEP_SIZE) where the file
// system can, and is otherwise a no-op (discard is a hint); WRITE_ZEROES uses
// PUNCH_HOLE (with the unmap flag) or ZERO_RANGE, falling back to vectored
// writes of one shared zero page. The image's size never changes.
import type { GuestMemory } from '../../../memory/guest_memory.js';
import { HostBuffer, IoTable } from '../../../memory/io_table.js';
import { IOV_MAX } from '../../../base/limits.js';
import { PCI_CLASS } from '../../../pci/constants.js';
import { VIRTIO_F, VIRTIO_ID, featureBit } from '../constants.js';
import type { VirtioDevice } from '../device.js';
import { readConfigBytes } from '../device.js';
import type { BlockBackend } from './backend.js';
import { VIRTIO_BLK, VIRTIO_BLK_CONFIG, VIRTIO_BLK_F, VIRTIO_BLK_S } from './constants.js';
import type { BlockLimits, BlockRequest } from './request.js';
import { RateLog } from '../rate_log.js';

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
  /** Where I/O errors are reported; default console.error. */
  readonly log?: (line: string) => void;
}

/** Largest DISCARD / WRITE_ZEROES request, in sectors (ours: 32 MiB). */
const MAX_DWZ_SECTORS = 65536;
const ZERO_PAGE = new HostBuffer(new Uint8Array(65536));

export class BlockDevice implements VirtioDevice {
  readonly deviceType = VIRTIO_ID.BLOCK;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = VIRTIO_BLK_CONFIG.LENGTH;
  readonly pciClass = PCI_CLASS.STORAGE_SCSI;
  readonly limits: BlockLimits;
  private readonly configBytes = new Uint8Array(VIRTIO_BLK_CONFIG.LENGTH);
  private readonly serial: Uint8Array;
  private readonly log: (line: string) => void;
  /** Failed backend I/O, rate-limited: a guest can cause it at will (say, by reading past a shrunken file). */
  private readonly ioErrors: RateLog;

  constructor(options: BlockDeviceOptions) {
    const queueSize = options.queueSize ?? 256;
    if (options.size % VIRTIO_BLK.SECTOR_SIZE !== 0) throw new RangeError(`disk size ${options.size} is not a multiple of ${VIRTIO_BLK.SECTOR_SIZE}`);
    this.queueMaxSizes = [queueSize];
    this.limits = {
      capacity: options.size / VIRTIO_BLK.SECTOR_SIZE,
      readOnly: options.readOnly,
      // Header and status take two descriptors of a chain bounded by the queue size.
      segMax: Math.max(1, queueSize - 2),
      sizeMax: options.sizeMax ?? 1 << 20,
      maxDiscardSectors: MAX_DWZ_SECTORS,
      maxWriteZeroesSectors: MAX_DWZ_SECTORS,
    };
    this.serial = new TextEncoder().encode(options.serial).subarray(0, VIRTIO_BLK.ID_BYTES);
    this.log = options.log ?? ((line) => console.error(line));
    this.ioErrors = new RateLog(this.log);
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

  /**
   * Carries out a parsed request and writes its status byte (after the data,
   * and for FLUSH after fdatasync returned). Returns the used length: bytes
   * written into the driver's buffers, status included. `table` carries the
   * data to the backend (the queue handler keeps one; tests may leave it).
   */
  execute(mem: GuestMemory, request: BlockRequest, backend: BlockBackend, table: IoTable = new IoTable(mem, this.limits.segMax + 2, 1)): number {
    if (request.kind === 'error') {
      if (request.status === null) return 0;
      mem.writeU8(request.status, request.code);
      return 1;
    }
    let written = 0;
    let code: number = VIRTIO_BLK_S.OK;
    try {
      switch (request.kind) {
        case 'in':
          backend.read(dataTable(table, request), request.sector * VIRTIO_BLK.SECTOR_SIZE);
          written = request.bytes;
          break;
        case 'out':
          backend.write(dataTable(table, request), request.sector * VIRTIO_BLK.SECTOR_SIZE);
          break;
        case 'flush':
          backend.flush();
          break;
        case 'get_id': {
          let off = 0;
          for (let i = 0; i < request.data.count; i++) {
            const len = request.data.len(i);
            const dst = mem.slice(request.data.gpa(i), len);
            dst.fill(0);
            dst.set(this.serial.subarray(off, off + len));
            off += len;
          }
          written = request.bytes;
          break;
        }
        case 'write_zeroes':
          if (!backend.zeroRange?.(request.sector * VIRTIO_BLK.SECTOR_SIZE, request.sectors * VIRTIO_BLK.SECTOR_SIZE, request.unmap)) {
            this.writeZeroes(backend, table, request.sector, request.sectors);
          }
          break;
        case 'discard':
          // Advisory (§5.2.6.2): free the blocks where the file system can, else nothing.
          backend.zeroRange?.(request.sector * VIRTIO_BLK.SECTOR_SIZE, request.sectors * VIRTIO_BLK.SECTOR_SIZE, true);
          break;
      }
    } catch (err) {
      const e = err as { code?: string; message?: string };
      this.ioErrors.event(`virtio-blk: ${request.kind} failed: ${e.code ?? 'error'}: ${e.message ?? String(err)}`);
      code = VIRTIO_BLK_S.IOERR;
      written = 0;
    }
    mem.writeU8(request.status!, code);
    return written + 1;
  }

  /** Writes zeroes from a shared zero page, as many pieces per call as the table takes. */
  private writeZeroes(backend: BlockBackend, table: IoTable, sector: number, sectors: number): void {
    let offset = sector * VIRTIO_BLK.SECTOR_SIZE;
    let bytes = sectors * VIRTIO_BLK.SECTOR_SIZE;
    while (bytes > 0) {
      table.reset();
      table.begin(offset);
      let n = 0;
      while (bytes - n > 0 && table.room > 0 && table.counts[0]! < IOV_MAX) {
        const piece = Math.min(bytes - n, ZERO_PAGE.bytes.length);
        table.addHost(ZERO_PAGE, piece);
        n += piece;
      }
      backend.write(table, offset);
      offset += n;
      bytes -= n;
    }
  }
}

/** The request's data buffers as entry 0 of `table`. */
function dataTable(table: IoTable, request: BlockRequest): IoTable {
  const data = request.data;
  table.reset();
  table.begin();
  for (let i = 0; i < data.count; i++) table.addGuest(data.gpa(i), data.len(i));
  return table;
}
