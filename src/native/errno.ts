// errno names for the -errno results the addon's batch calls return
// (readvEach, writevEach, ...) instead of throwing: enough to say in a log
// line what the kernel refused. Numbers from asm-generic/errno-base.h and
// errno.h (the same on x86_64 and arm64).
const NAMES: Readonly<Record<number, string>> = {
  1: 'EPERM',
  2: 'ENOENT',
  4: 'EINTR',
  5: 'EIO',
  6: 'ENXIO',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  14: 'EFAULT',
  19: 'ENODEV',
  22: 'EINVAL',
  27: 'EFBIG',
  28: 'ENOSPC',
  77: 'EBADFD',
  90: 'EMSGSIZE',
  95: 'EOPNOTSUPP',
  100: 'ENETDOWN',
  105: 'ENOBUFS',
};

/** "EIO", or "errno 123" for a number not in the table. */
export function errnoName(errno: number): string {
  return NAMES[errno] ?? `errno ${errno}`;
}

/** An Error shaped like the addon's NativeError, for a -errno a batch call returned. */
export function errnoError(syscall: string, errno: number): Error & { errno: number; code: string; syscall: string } {
  const code = errnoName(errno);
  return Object.assign(new Error(`${syscall}: ${code}`), { errno, code, syscall });
}
