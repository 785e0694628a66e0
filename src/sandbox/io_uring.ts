// io_uring and the seccomp filter. A ring's operations are run by the kernel
// (in io-wq workers, or an SQPOLL thread) without a system call per
// operation, so the filter never sees them; and io_uring_enter itself is not
// on the allowlist, so a process that made a ring before the seal dies of
// SIGSYS the first time it uses it (libuv >= 1.45 batches epoll_ctl changes
// through one when UV_USE_IO_URING=1, the default on Node 20.3-20.11).
// io_uring_setup after the seal answers ENOSYS (policy/common.ts); this is
// the check for rings made before it: the seal refuses to go on.
import { readdirSync, readlinkSync } from 'node:fs';
import { TsvmmError } from '../base/errors.js';

/** What readlink(2) shows for an io_uring fd (fs/anon_inodes.c: "anon_inode:" + the name io_uring_setup gives). */
export const IO_URING_LINK = 'anon_inode:[io_uring]';

/** The fds of this process (or those listed in `fdDir`) that are io_uring instances, in order. */
export function openIoUringFds(fdDir = '/proc/self/fd'): number[] {
  const found: number[] = [];
  for (const name of readdirSync(fdDir)) {
    let target: string;
    try {
      target = readlinkSync(`${fdDir}/${name}`);
    } catch {
      continue; // closed since the listing (readdir's own directory fd, for one)
    }
    if (target === IO_URING_LINK) found.push(Number(name));
  }
  return found.sort((a, b) => a - b);
}

export class IoUringOpenError extends TsvmmError {
  constructor(readonly fds: readonly number[]) {
    super(
      `seccomp: refusing to seal: io_uring ring${fds.length === 1 ? '' : 's'} open (fd ${fds.join(', ')}), whose I/O the kernel runs outside the filter; ` +
        'libuv makes them when UV_USE_IO_URING=1: start the VMM with UV_USE_IO_URING=0 (tsvmm\'s supervisor does)',
    );
  }
}

/** Throws IoUringOpenError if this process has an io_uring instance open. */
export function refuseOpenIoUring(fdDir?: string): void {
  const fds = openIoUringFds(fdDir);
  if (fds.length > 0) throw new IoUringOpenError(fds);
}
