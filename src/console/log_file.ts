// --log FILE: where tsvmm's own lines go instead of stderr. Opened for
// appending, created with mode 0600 (the lines may name host paths and
// devices) if missing; both the supervisor and, started by hand, the VMM
// process open it this way.
import { fstatSync, openSync } from 'node:fs';
import { TsvmmError, errnoCode } from '../base/errors.js';

export class LogFileError extends TsvmmError {}

const WHY: Readonly<Record<string, string>> = {
  ENOENT: 'its directory does not exist',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of its path is not a directory',
  EROFS: 'the file system is read-only',
};

/** Opens `path` for appending (O_WRONLY|O_APPEND|O_CREAT, 0600 when created); throws LogFileError with one line. */
export function openLogFile(path: string): number {
  try {
    return openSync(path, 'a', 0o600);
  } catch (err) {
    const code = errnoCode(err) ?? '';
    throw new LogFileError(`--log ${path}: cannot open it: ${WHY[code] ?? (err as Error).message}`, { cause: err });
  }
}

/** True when fds `a` and `b` reach the same file: the same terminal, or the same pipe or file (2>&1). */
export function sameFile(a: number, b: number): boolean {
  try {
    const x = fstatSync(a);
    const y = fstatSync(b);
    if (x.isCharacterDevice() && y.isCharacterDevice()) return x.rdev === y.rdev;
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false; // a closed fd shares nothing
  }
}
