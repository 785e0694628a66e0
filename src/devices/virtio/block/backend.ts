// Host storage behind virtio-blk: positioned, vectored I/O on a file
// descriptor (preadv/pwritev: no shared file offset, so requests never race
// on a seek) and fdatasync for FLUSH. Runs on the device's worker thread.
// Errors are the addon's NativeError (errno/code) or the errors below; the
// device turns them into VIRTIO_BLK_S_IOERR.
//
// Data moves through an IoTable (../../../memory/io_table.ts): entry 0's
// segments, guest buffers or host ones, in one preadv/pwritev from the
// addon's table (no view per buffer); a short transfer or an entry of more
// than IOV_MAX segments takes the general loop below.
//
// The image may shrink under a running guest (another process truncates
// it). Reads past its new end come back short (ShortTransferError). Writes,
// and zeroing or unmapping, check the file's current size first (one fstat)
// and refuse to reach past it (PastEndError) rather than grow the file back:
// tsvmm never resizes an image. A truncation that lands between that check
// and the write can still be undone by the write; nothing can prevent that
// short of a lock the other process would have to take too.
import type { IoTable } from '../../../memory/io_table.js';
import { native } from '../../../native/addon.js';
import { errnoError } from '../../../native/errno.js';
import { FALLOC } from '../../../native/linux.js';
import { STAT, fileSize } from '../../../native/stat.js';
import { TsvmmError, errnoCode } from '../../../base/errors.js';
import { IOV_MAX } from '../../../base/limits.js';

export interface BlockBackend {
  /** Fills entry 0 of `t` from byte `offset` of the disk, completely or throws. */
  read(t: IoTable, offset: number): void;
  /** Writes entry 0 of `t` at byte `offset`, completely or throws. */
  write(t: IoTable, offset: number): void;
  /** Makes completed writes durable (fdatasync). */
  flush(): void;
  /**
   * Optional: deallocates (`unmap`) or zeroes a byte range in place, never
   * changing the file's size. Returns false where the file system cannot
   * (the device then writes zeroes, or ignores a DISCARD, which is advisory).
   */
  zeroRange?(offset: number, length: number, unmap: boolean): boolean;
}

export class ShortTransferError extends TsvmmError {
  readonly code = 'ESHORT';
  constructor(op: string, offset: number, done: number, wanted: number) {
    super(`${op} at byte ${offset} transferred ${done} of ${wanted} bytes (file shrank?)`);
  }
}

export class PastEndError extends TsvmmError {
  readonly code = 'EPASTEND';
  constructor(op: string, offset: number, length: number, size: number) {
    super(`${op} of ${length} bytes at byte ${offset} reaches past the image's end at byte ${size} (it shrank); the image is never grown`);
  }
}

type Vectored = (fd: number, views: Uint8Array[], position: number) => number;
const preadv: Vectored = (fd, views, position) => native.preadv(fd, views, position);
const pwritev: Vectored = (fd, views, position) => native.pwritev(fd, views, position);

/** Repeats a vectored call until every byte moved; a zero-byte step is an error. */
function transfer(op: string, call: Vectored, fd: number, views: Uint8Array[], offset: number): void {
  let wanted = 0;
  for (const v of views) wanted += v.length;
  let pending = views;
  let position = offset;
  let total = 0;
  while (total < wanted) {
    const batch = pending.length > IOV_MAX ? pending.slice(0, IOV_MAX) : pending;
    const n = call(fd, batch, position);
    if (n <= 0) throw new ShortTransferError(op, offset, total, wanted);
    total += n;
    position += n;
    // Drop what moved, trimming a partly transferred view.
    let skip = n;
    let i = 0;
    while (i < pending.length && skip >= pending[i]!.length) skip -= pending[i++]!.length;
    pending = pending.slice(i);
    if (skip > 0) pending[0] = pending[0]!.subarray(skip);
  }
}

type Each = typeof native.preadvEach;

/** One preadv/pwritev of entry 0 from the table; false when it moved less than all (then the general loop runs). */
function once(op: string, call: Each, fd: number, t: IoTable, offset: number): boolean {
  if (t.counts[0]! > IOV_MAX) return false;
  t.positions[0] = offset;
  call(fd, t.iov, t.counts, 1, t.results, t.positions);
  const n = t.results[0]!;
  if (n < 0) throw errnoError(op, -n);
  return n === t.bytes(0);
}

export class FileBackend implements BlockBackend {
  private readonly stat = Buffer.alloc(STAT.SIZE);

  constructor(readonly fd: number) {}

  read(t: IoTable, offset: number): void {
    if (!once('preadv', native.preadvEach, this.fd, t, offset)) transfer('read', preadv, this.fd, t.views(0), offset);
  }

  write(t: IoTable, offset: number): void {
    this.withinImage('write', offset, t.bytes(0));
    if (!once('pwritev', native.pwritevEach, this.fd, t, offset)) transfer('write', pwritev, this.fd, t.views(0), offset);
  }

  flush(): void {
    native.fdatasync(this.fd);
  }

  /** fallocate: PUNCH_HOLE (reads back as zeroes, frees the blocks) or ZERO_RANGE, both with KEEP_SIZE. */
  zeroRange(offset: number, length: number, unmap: boolean): boolean {
    this.withinImage(unmap ? 'unmap' : 'zeroing', offset, length);
    try {
      native.fallocate(this.fd, (unmap ? FALLOC.PUNCH_HOLE : FALLOC.ZERO_RANGE) | FALLOC.KEEP_SIZE, offset, length);
      return true;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EOPNOTSUPP' || code === 'ENOTSUP' || code === 'ENOSYS') return false;
      throw err;
    }
  }

  /** Throws PastEndError when [offset, offset + length) is not inside the file as it is now. */
  private withinImage(op: string, offset: number, length: number): void {
    const size = fileSize(this.fd, this.stat);
    if (offset + length > size) throw new PastEndError(op, offset, length, size);
  }
}
