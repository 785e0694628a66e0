// Opening the raw disk image behind virtio-blk (`-d disk.img[,ro]`).
//
// The file is opened read-write unless `,ro` was given or the file cannot be
// written (then it is read-only and the guest sees VIRTIO_BLK_F_RO). It is
// never created or truncated. Its size must be a multiple of 512 bytes. The
// serial (GET_ID) is derived from the absolute path, so it is stable across
// runs. Runs on the main thread at startup; the fd goes to the worker.
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { VIRTIO_BLK } from './constants.js';
import { TsvmmError, errnoCode } from '../../../base/errors.js';

export interface DiskSpec {
  readonly path: string;
  readonly readOnly: boolean;
}

export interface DiskImage {
  readonly fd: number;
  readonly path: string;
  readonly readOnly: boolean;
  /** Bytes. */
  readonly size: number;
  readonly serial: string;
}

export class DiskError extends TsvmmError {}

/** Parses `path[,ro]`. */
export function parseDiskSpec(spec: string): DiskSpec {
  const parts = spec.split(',');
  const path = parts[0] ?? '';
  if (path === '') throw new DiskError(`disk "${spec}": empty path`);
  let readOnly = false;
  for (const opt of parts.slice(1)) {
    if (opt === 'ro') readOnly = true;
    else throw new DiskError(`disk "${spec}": unknown option "${opt}" (expected "ro")`);
  }
  return { path, readOnly };
}

/** A 20-character serial from the image's absolute path. */
export function diskSerial(path: string): string {
  return createHash('sha256').update(resolve(path)).digest('hex').slice(0, VIRTIO_BLK.ID_BYTES);
}

export function openDisk(spec: DiskSpec): DiskImage {
  const { path } = spec;
  let readOnly = spec.readOnly;
  let fd: number;
  try {
    fd = openSync(path, readOnly ? constants.O_RDONLY : constants.O_RDWR);
  } catch (err) {
    const c = errnoCode(err);
    if (readOnly || (c !== 'EACCES' && c !== 'EROFS' && c !== 'EPERM')) {
      throw new DiskError(`disk image ${path}: cannot open: ${c ?? String(err)}`, { cause: err });
    }
    try {
      fd = openSync(path, constants.O_RDONLY);
      readOnly = true;
    } catch (err2) {
      throw new DiskError(`disk image ${path}: cannot open: ${errnoCode(err2) ?? String(err2)}`, { cause: err2 });
    }
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new DiskError(`disk image ${path}: not a regular file`);
    if (st.size === 0) throw new DiskError(`disk image ${path}: is empty`);
    if (st.size % VIRTIO_BLK.SECTOR_SIZE !== 0) {
      throw new DiskError(`disk image ${path}: size ${st.size} bytes is not a multiple of ${VIRTIO_BLK.SECTOR_SIZE}`);
    }
    return { fd, path, readOnly, size: st.size, serial: diskSerial(path) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
