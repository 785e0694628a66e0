// Constants from the Linux UAPI headers that the generic code needs.
// Sources: include/uapi/asm-generic/fcntl.h, mman-common.h, mman.h,
// include/uapi/linux/eventfd.h, include/uapi/asm-generic/poll.h.

/** open(2) flags (asm-generic/fcntl.h; identical on x86_64 and arm64). */
export const O = {
  RDONLY: 0o0,
  WRONLY: 0o1,
  RDWR: 0o2,
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
} as const;

/** mmap(2) protections and flags (asm-generic/mman-common.h, mman.h). */
export const PROT = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;
export const MAP = {
  SHARED: 0x01,
  PRIVATE: 0x02,
  ANONYMOUS: 0x20,
  NORESERVE: 0x4000,
} as const;

/** eventfd(2) flags (linux/eventfd.h: EFD_NONBLOCK = O_NONBLOCK). */
export const EFD = { NONBLOCK: 0o4000, SEMAPHORE: 1 } as const;

/** poll(2) events (asm-generic/poll.h). */
export const POLL = { IN: 0x001, OUT: 0x004, ERR: 0x008, HUP: 0x010, NVAL: 0x020 } as const;

/** memfd_create(2) flags (linux/memfd.h). */
export const MFD = { CLOEXEC: 1, ALLOW_SEALING: 2 } as const;

/** errno values returned (not thrown) by the addon (asm-generic/errno-base.h). */
export const ERRNO = { EINTR: 4, EIO: 5, EAGAIN: 11, ENOSYS: 38, EPERM: 1, EACCES: 13, ENOENT: 2 } as const;

/** fallocate(2) modes (include/uapi/linux/falloc.h). */
export const FALLOC = { KEEP_SIZE: 0x01, PUNCH_HOLE: 0x02, ZERO_RANGE: 0x10 } as const;

export const PAGE_SIZE = 4096;

/**
 * The signal that kicks a vCPU thread out of KVM_RUN (pause, stop): a
 * real-time signal (kernel SIGRTMIN is 32; glibc keeps 32-34 for itself),
 * blocked outside KVM_RUN and consumed with rt_sigtimedwait, never delivered
 * to a handler (see vcpu/kick.ts).
 */
export const VCPU_KICK_SIGNAL = 36;
