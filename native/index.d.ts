// The exact shape of the native addon (native/tsvmm.c), written once.
// Every function makes one system call. Failures throw a NativeError, except
// where noted (read/write/readv/writev report EAGAIN as -11; rawSyscall
// returns -errno).

export interface NativeError extends Error {
  errno: number;
  code: string;
  syscall: string;
}

/** Anything whose bytes the kernel may read or write. */
export type Bytes = ArrayBuffer | ArrayBufferView;

export interface Native {
  open(path: string, flags: number, mode: number): number;
  close(fd: number): void;
  /** ioctl with a pointer to `arg`'s bytes. Returns the ioctl's result. */
  ioctl(fd: number, request: number, arg: Bytes): number;
  /** ioctl with an integer passed by value. */
  ioctlInt(fd: number, request: number, arg: number | bigint): number;
  /** Maps `length` bytes; the ArrayBuffer views the mapping until munmap. */
  mmap(length: number, prot: number, flags: number, fd: number, offset: number): ArrayBuffer;
  /** Unmaps and detaches a buffer returned by mmap. */
  munmap(buffer: ArrayBuffer): void;
  /** Host virtual address of the first byte (for structs that hold pointers). */
  address(buffer: Bytes): bigint;
  memfdCreate(name: string, flags: number): number;
  ftruncate(fd: number, length: number): void;
  /** The fstat system call (not glibc's fstat(), which is newfstatat): fills `buffer` with struct stat (src/native/stat.ts reads it). */
  fstat(fd: number, buffer: Bytes): void;
  eventfd(initval: number, flags: number): number;
  /** Bytes read, 0 at EOF, or -11 (EAGAIN) on an empty non-blocking fd. */
  read(fd: number, buffer: Bytes): number;
  /** Bytes written, or -11 (EAGAIN) on a full non-blocking fd. */
  write(fd: number, buffer: Bytes): number;
  preadv(fd: number, buffers: ArrayBufferView[], position: number): number;
  pwritev(fd: number, buffers: ArrayBufferView[], position: number): number;
  /** One readv(2) at the fd's position: bytes read, 0 at EOF, or -11 (EAGAIN). */
  readv(fd: number, buffers: ArrayBufferView[]): number;
  /** One writev(2): bytes written, or -11 (EAGAIN) on a full non-blocking fd. */
  writev(fd: number, buffers: ArrayBufferView[]): number;
  /** socketpair(2) with protocol 0; `type` may include SOCK_NONBLOCK. Returns both ends. */
  socketpair(domain: number, type: number): [number, number];
  fdatasync(fd: number): void;
  /** fallocate(2); throws NativeError (EOPNOTSUPP where the file system cannot). */
  fallocate(fd: number, mode: number, offset: number, length: number): void;
  /** `fds` holds struct pollfd entries (8 bytes each). EINTR returns 0. */
  poll(fds: Bytes, timeoutMs: number): number;
  prctl(option: number, arg2: number | bigint, arg3: number | bigint, arg4: number | bigint, arg5: number | bigint): number;
  /** Raw seccomp(2) result: 0, or with TSYNC the TID of a thread that could not sync. */
  seccomp(operation: number, flags: number, args: Bytes | null): number;
  gettid(): number;
  /** tgkill(2): sends `signal` to thread `tid` of process `tgid`. */
  tgkill(tgid: number, tid: number, signal: number): void;
  /** rt_sigprocmask(2) for the calling thread; sets are 8-byte kernel sigsets (bit n-1 = signal n). */
  sigprocmask(how: number, set: Bytes | null, oldset: Bytes | null): void;
  /** rt_sigtimedwait(2) without siginfo: the signal taken, or -errno (-11 EAGAIN: none within timeoutMs). */
  sigtimedwait(set: Bytes, timeoutMs: number): number;
  /** exit_group(2): ends every thread of the process now; never returns. */
  exitGroup(code: number): never;
  /**
   * Vectored I/O from an iovec table: `n` calls of readv(2) on `fd`, one per
   * entry, in order (the device workers' data path: one JavaScript -> C
   * crossing for a batch of frames, still one system call per frame).
   * `iov` holds [host address, length] pairs, the segments of entry 0, then
   * entry 1, ...; entry i has `counts[i]` (1..1024) of them. The addresses
   * must come from GuestMemory.hostAddress() (checked against guest RAM) or
   * from a buffer the caller holds: the addon cannot check them. Fills
   * `results[i]` with the bytes read or -errno (never throws for a failed
   * call) and returns how many entries it filled: it stops after an entry
   * that got -EAGAIN, 0 (EOF), or bytes in its last segment (each entry's
   * last segment is overflow room the caller looks at before the next read).
   */
  readvEach(fd: number, iov: Float64Array, counts: Int32Array, n: number, results: Int32Array): number;
  /** As readvEach with writev(2): stops after an entry that got -EAGAIN. */
  writevEach(fd: number, iov: Float64Array, counts: Int32Array, n: number, results: Int32Array): number;
  /** As readvEach with preadv(2) at `positions[i]`: never stops early (an error is that entry's result). */
  preadvEach(fd: number, iov: Float64Array, counts: Int32Array, n: number, results: Int32Array, positions: Float64Array): number;
  /** As preadvEach with pwritev(2). */
  pwritevEach(fd: number, iov: Float64Array, counts: Int32Array, n: number, results: Int32Array, positions: Float64Array): number;
  /** syscall(2) with up to 6 integer arguments; returns the result or -errno. For tests. */
  rawSyscall(nr: number, ...args: Array<number | bigint>): number;
}

declare const native: Native;
export default native;
