// virtio-blk's request executor, on the device worker: carries out parsed
// requests (request.ts) against the backend and writes their status byte.
// Built from the same options as the config model (device.ts blockLimits),
// so both sides agree on what a request may be.
//
// DISCARD punches a hole in the image (fallocate PUNCH_HOLE|KEEP_SIZE) where
// the file system can, and is otherwise a no-op (discard is a hint);
// WRITE_ZEROES uses PUNCH_HOLE (with the unmap flag) or ZERO_RANGE, falling
// back to vectored writes of one shared zero page. The image's size never
// changes. A failed backend call completes the request with IOERR.
import type { GuestMemory } from '../../../memory/guest_memory.js';
import { HostBuffer, IoTable } from '../../../memory/io_table.js';
import { IOV_MAX } from '../../../base/limits.js';
import type { BlockBackend } from './backend.js';
import { VIRTIO_BLK, VIRTIO_BLK_S } from './constants.js';
import { blockLimits, type BlockDeviceOptions } from './device.js';
import type { BlockLimits, BlockRequest } from './request.js';
import { RateLog } from '../rate_log.js';

const ZERO_PAGE = new HostBuffer(new Uint8Array(65536));

export class BlockExecutor {
  readonly limits: BlockLimits;
  private readonly serial: Uint8Array;
  /** Failed backend I/O, rate-limited: a guest can cause it at will (say, by reading past a shrunken file). */
  private readonly ioErrors: RateLog;

  constructor(options: BlockDeviceOptions) {
    this.limits = blockLimits(options);
    this.serial = new TextEncoder().encode(options.serial).subarray(0, VIRTIO_BLK.ID_BYTES);
    this.ioErrors = new RateLog(options.log ?? ((line) => console.error(line)));
  }

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
