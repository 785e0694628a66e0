// cpio "newc" archive writer: the format of a Linux initramfs.
//
// Sources: the kernel's Documentation/driver-api/early-userspace/buffer-format.rst
// (the initramfs unpacker in init/initramfs.c) and cpio(5) "New ASCII Format".
// Each member is a 110-byte ASCII header, the NUL-terminated name padded so
// header + name is a multiple of 4, then the data padded to a multiple of 4.
// The archive ends with a member named TRAILER!!!.
//
// Output is deterministic: uid/gid 0, mtime 0, inode numbers in entry order.
// The kernel's unpacker creates no missing parent directories, so a member's
// parent must come earlier in the archive; the writer checks that.
import { TsvmmError } from '../base/errors.js';

/** Header layout (buffer-format.rst): magic, then 13 fields of 8 hex digits. */
export const NEWC = {
  MAGIC: '070701',
  HEADER_SIZE: 110,
  FIELD_DIGITS: 8,
  /** Fields after the magic, in order. */
  FIELD_COUNT: 13,
  ALIGN: 4,
  TRAILER: 'TRAILER!!!',
  /** A field holds 8 hex digits: sizes and numbers must fit in 32 bits. */
  MAX_FIELD: 0xffff_ffff,
} as const;

/** File-type bits of st_mode (include/uapi/linux/stat.h). */
export const S_IF = {
  MASK: 0o170000,
  SOCK: 0o140000,
  LNK: 0o120000,
  REG: 0o100000,
  BLK: 0o060000,
  DIR: 0o040000,
  CHR: 0o020000,
  FIFO: 0o010000,
} as const;

/** Permission bits a member may carry (setuid, setgid, sticky, rwxrwxrwx). */
export const PERM_MASK = 0o7777;

export type CpioEntry =
  | { readonly kind: 'dir'; readonly path: string; readonly mode: number }
  | { readonly kind: 'file'; readonly path: string; readonly mode: number; readonly data: Uint8Array }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string }
  | { readonly kind: 'chardev' | 'blockdev'; readonly path: string; readonly mode: number; readonly major: number; readonly minor: number };

/** An entry the writer refuses, with the entry's path and the reason. */
export class CpioEntryError extends TsvmmError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cpio entry ${JSON.stringify(path)}: ${reason}`);
  }
}

/** The header fields of one member, numbers as written. */
interface Header {
  ino: number;
  mode: number;
  nlink: number;
  filesize: number;
  rdevmajor: number;
  rdevminor: number;
  namesize: number;
}

const encoder = new TextEncoder();

/** Bytes needed to pad `n` up to the next multiple of 4. */
function pad4(n: number): number {
  return (NEWC.ALIGN - (n % NEWC.ALIGN)) % NEWC.ALIGN;
}

function checkPath(path: string): void {
  if (path.length === 0) throw new CpioEntryError(path, 'empty path');
  if (path.startsWith('/')) throw new CpioEntryError(path, 'paths are relative to the archive root (no leading "/")');
  if (path.includes('\0')) throw new CpioEntryError(path, 'NUL in path');
  for (const part of path.split('/')) {
    if (part === '' || part === '.' || part === '..') {
      throw new CpioEntryError(path, `path component ${JSON.stringify(part)} is not allowed`);
    }
  }
  if (path === NEWC.TRAILER) throw new CpioEntryError(path, 'the trailer name is reserved');
}

function checkField(path: string, what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > NEWC.MAX_FIELD) {
    throw new CpioEntryError(path, `${what} ${value} does not fit a 32-bit newc field`);
  }
}

function checkPerm(path: string, mode: number): void {
  if (!Number.isInteger(mode) || (mode & ~PERM_MASK) !== 0 || mode < 0) {
    throw new CpioEntryError(path, `mode 0o${mode.toString(8)} has bits outside 0o7777 (give permissions only)`);
  }
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** The member's mode, data and device numbers; throws CpioEntryError for bad input. */
function describe(e: CpioEntry): { mode: number; data: Uint8Array; major: number; minor: number; nlink: number } {
  switch (e.kind) {
    case 'dir':
      checkPerm(e.path, e.mode);
      // A directory's link count is 2 ("." and its name); the kernel ignores it.
      return { mode: S_IF.DIR | e.mode, data: new Uint8Array(0), major: 0, minor: 0, nlink: 2 };
    case 'file':
      checkPerm(e.path, e.mode);
      return { mode: S_IF.REG | e.mode, data: e.data, major: 0, minor: 0, nlink: 1 };
    case 'symlink':
      if (e.target.length === 0 || e.target.includes('\0')) {
        throw new CpioEntryError(e.path, `symlink target ${JSON.stringify(e.target)} is empty or has a NUL`);
      }
      // The link's data is its target, without a NUL (buffer-format.rst).
      return { mode: S_IF.LNK | 0o777, data: encoder.encode(e.target), major: 0, minor: 0, nlink: 1 };
    case 'chardev':
    case 'blockdev':
      checkPerm(e.path, e.mode);
      checkField(e.path, 'major', e.major);
      checkField(e.path, 'minor', e.minor);
      return {
        mode: (e.kind === 'chardev' ? S_IF.CHR : S_IF.BLK) | e.mode,
        data: new Uint8Array(0),
        major: e.major,
        minor: e.minor,
        nlink: 1,
      };
  }
}

function headerBytes(h: Header): Uint8Array {
  // Field order (buffer-format.rst): ino mode uid gid nlink mtime filesize
  // devmajor devminor rdevmajor rdevminor namesize check.
  const fields = [h.ino, h.mode, 0, 0, h.nlink, 0, h.filesize, 0, 0, h.rdevmajor, h.rdevminor, h.namesize, 0];
  let s: string = NEWC.MAGIC;
  for (const f of fields) s += f.toString(16).padStart(NEWC.FIELD_DIGITS, '0');
  return encoder.encode(s);
}

/**
 * Writes `entries` as a newc archive, in order, followed by the trailer.
 * Throws CpioEntryError for a bad path or mode, a duplicate, a member whose
 * parent directory is not an earlier 'dir' entry, or a value that does not fit.
 */
export function writeNewc(entries: readonly CpioEntry[]): Uint8Array {
  const dirs = new Set<string>(['']);
  const seen = new Set<string>();
  const parts: Uint8Array[] = [];
  let total = 0;
  const push = (b: Uint8Array): void => {
    parts.push(b);
    total += b.length;
  };
  const member = (ino: number, name: string, d: { mode: number; data: Uint8Array; major: number; minor: number; nlink: number }): void => {
    const nameBytes = encoder.encode(name);
    const namesize = nameBytes.length + 1;
    checkField(name, 'file size', d.data.length);
    push(headerBytes({ ino, mode: d.mode, nlink: d.nlink, filesize: d.data.length, rdevmajor: d.major, rdevminor: d.minor, namesize }));
    push(nameBytes);
    push(new Uint8Array(1 + pad4(NEWC.HEADER_SIZE + namesize)));
    push(d.data);
    push(new Uint8Array(pad4(d.data.length)));
  };

  let ino = 1;
  for (const e of entries) {
    checkPath(e.path);
    if (seen.has(e.path)) throw new CpioEntryError(e.path, 'duplicate path');
    const parent = parentOf(e.path);
    if (!dirs.has(parent)) {
      throw new CpioEntryError(e.path, `parent directory ${JSON.stringify(parent)} must be an earlier 'dir' entry (the kernel creates no parents)`);
    }
    const d = describe(e);
    seen.add(e.path);
    if (e.kind === 'dir') dirs.add(e.path);
    member(ino++, e.path, d);
  }
  member(0, NEWC.TRAILER, { mode: 0, data: new Uint8Array(0), major: 0, minor: 0, nlink: 1 });

  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
