// Host storage behind virtio-blk: positioned, vectored I/O on a file
// descriptor (preadv/pwritev: no shared file offset, so requests never race
// on a seek) and fdatasync for FLUSH. Runs on the device's worker thread.
// Errors are the addon's NativeError (errno/code); the device turns them
// into VIRTIO_BLK_S_IOERR.
import { native } from '../../../native/addon.js';
import { FALLOC } from '../../../native/linux.js';

export interface BlockBackend {
  /** Fills `views` from byte `offset` of the disk, completely or throws. */
  read(views: Uint8Array[], offset: number): void;
  /** Writes `views` at byte `offset`, completely or throws. */
  write(views: Uint8Array[], offset: number): void;
  /** Makes completed writes durable (fdatasync). */
  flush(): void;
  /**
   * Optional: deallocates (`unmap`) or zeroes a byte range in place, never
   * changing the file's size. Returns false where the file system cannot
   * (the device then writes zeroes, or ignores a DISCARD, which is advisory).
   */
  zeroRange?(offset: number, length: number, unmap: boolean): boolean;
}

export class ShortTransferError extends Error {
  readonly code = 'ESHORT';
  constructor(op: string, offset: number, done: number, wanted: number) {
    super(`${op} at byte ${offset} transferred ${done} of ${wanted} bytes (file shrank?)`);
    this.name = 'ShortTransferError';
  }
}

/** Linux's IOV_MAX (include/uapi/linux/uio.h: UIO_MAXIOV). */
const IOV_MAX = 1024;

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

export class FileBackend implements BlockBackend {
  constructor(readonly fd: number) {}

  read(views: Uint8Array[], offset: number): void {
    transfer('read', preadv, this.fd, views, offset);
  }

  write(views: Uint8Array[], offset: number): void {
    transfer('write', pwritev, this.fd, views, offset);
  }

  flush(): void {
    native.fdatasync(this.fd);
  }

  /** fallocate: PUNCH_HOLE (reads back as zeroes, frees the blocks) or ZERO_RANGE, both with KEEP_SIZE. */
  zeroRange(offset: number, length: number, unmap: boolean): boolean {
    try {
      native.fallocate(this.fd, (unmap ? FALLOC.PUNCH_HOLE : FALLOC.ZERO_RANGE) | FALLOC.KEEP_SIZE, offset, length);
      return true;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EOPNOTSUPP' || code === 'ENOTSUP' || code === 'ENOSYS') return false;
      throw err;
    }
  }
}
