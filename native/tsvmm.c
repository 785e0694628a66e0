// tsvmm native addon: one thin function per system call, nothing else.
//
// Policy lives in TypeScript: ioctl numbers, struct layouts, BPF programs and
// every decision are made there. Each function here checks its argument types,
// makes exactly one system call, and either returns the result or throws an
// Error carrying `errno`, `code` (e.g. "ENOENT") and `syscall`.
// The exact JavaScript shape is declared once in native/index.d.ts.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 6
#define MAX_IOV 1024 /* IOV_MAX on Linux */

// Throw Error(`${syscall}: ${code} (${strerror})`) with errno/code/syscall set.
static napi_value throw_errno(napi_env env, const char *syscall_name, int err) {
  const char *name = strerrorname_np(err);
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s (%s)", syscall_name, name ? name : "E?", strerror(err));
  napi_value message, error, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_int32(env, err, &v);
  napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, name ? name : "E?", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "code", v);
  napi_create_string_utf8(env, syscall_name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "syscall", v);
  napi_throw(env, error);
  return NULL;
}

static napi_value type_error(napi_env env, const char *what) {
  napi_throw_type_error(env, NULL, what);
  return NULL;
}

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

static napi_value undef(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

// An integer argument given as a number or a BigInt (for 64-bit values).
static int get_i64(napi_env env, napi_value v, int64_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) return napi_get_value_int64(env, v, out) == napi_ok;
  if (t == napi_bigint) {
    bool lossless;
    uint64_t u;
    if (napi_get_value_bigint_uint64(env, v, &u, &lossless) != napi_ok) return 0;
    *out = (int64_t)u;
    return 1;
  }
  return 0;
}

static int get_int(napi_env env, napi_value v, int *out) {
  int64_t x;
  if (!get_i64(env, v, &x) || x < INT32_MIN || x > UINT32_MAX) return 0;
  *out = (int)x;
  return 1;
}

// The bytes behind an ArrayBuffer or any ArrayBufferView (Buffer, Uint8Array, DataView).
static int get_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is)
    return napi_get_arraybuffer_info(env, v, data, len) == napi_ok;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t n, off;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &n, data, &ab, &off) != napi_ok) return 0;
    size_t elem = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: elem = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
      default: break;
    }
    *len = n * elem;
    return 1;
  }
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_value ab;
    size_t off;
    return napi_get_dataview_info(env, v, len, data, &ab, &off) == napi_ok;
  }
  return 0;
}

#define ARGS(n)                                   \
  size_t argc = MAX_ARGS;                         \
  napi_value argv[MAX_ARGS];                      \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL); \
  if (argc < (n)) return type_error(env, "too few arguments")

// open(path: string, flags: number, mode: number): fd
static napi_value n_open(napi_env env, napi_callback_info info) {
  ARGS(3);
  char path[4096];
  size_t plen;
  int flags, mode;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen) != napi_ok || plen >= sizeof path - 1)
    return type_error(env, "open: path must be a string shorter than 4095 bytes");
  if (!get_int(env, argv[1], &flags) || !get_int(env, argv[2], &mode)) return type_error(env, "open: flags and mode must be integers");
  int fd = open(path, flags | O_CLOEXEC, mode);
  if (fd < 0) return throw_errno(env, "open", errno);
  return num(env, fd);
}

// close(fd)
static napi_value n_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fd;
  if (!get_int(env, argv[0], &fd)) return type_error(env, "close: fd must be an integer");
  if (close(fd) < 0) return throw_errno(env, "close", errno);
  return undef(env);
}

// ioctl(fd, request, buffer): the kernel reads and/or writes the struct in buffer.
static napi_value n_ioctl(napi_env env, napi_callback_info info) {
  ARGS(3);
  int fd, req;
  void *data;
  size_t len;
  if (!get_int(env, argv[0], &fd) || !get_int(env, argv[1], &req)) return type_error(env, "ioctl: fd and request must be integers");
  if (!get_bytes(env, argv[2], &data, &len)) return type_error(env, "ioctl: argument must be a Buffer or ArrayBuffer");
  int r = ioctl(fd, (unsigned long)(unsigned int)req, data);
  if (r < 0) return throw_errno(env, "ioctl", errno);
  return num(env, r);
}

// ioctlInt(fd, request, arg: number | bigint): the argument is passed by value.
static napi_value n_ioctl_int(napi_env env, napi_callback_info info) {
  ARGS(3);
  int fd, req;
  int64_t arg;
  if (!get_int(env, argv[0], &fd) || !get_int(env, argv[1], &req) || !get_i64(env, argv[2], &arg))
    return type_error(env, "ioctlInt: fd, request and argument must be integers");
  int r = ioctl(fd, (unsigned long)(unsigned int)req, (unsigned long)arg);
  if (r < 0) return throw_errno(env, "ioctl", errno);
  return num(env, r);
}

// mmap(length, prot, flags, fd, offset): an ArrayBuffer over the new mapping.
// The buffer does not own the mapping: munmap() detaches it, so a stale view
// throws instead of touching unmapped memory.
static napi_value n_mmap(napi_env env, napi_callback_info info) {
  ARGS(5);
  int64_t length, offset;
  int prot, flags, fd;
  if (!get_i64(env, argv[0], &length) || !get_int(env, argv[1], &prot) || !get_int(env, argv[2], &flags) ||
      !get_int(env, argv[3], &fd) || !get_i64(env, argv[4], &offset) || length <= 0)
    return type_error(env, "mmap: length must be positive; prot, flags, fd, offset integers");
  void *p = mmap(NULL, (size_t)length, prot, flags, fd, (off_t)offset);
  if (p == MAP_FAILED) return throw_errno(env, "mmap", errno);
  napi_value ab;
  if (napi_create_external_arraybuffer(env, p, (size_t)length, NULL, NULL, &ab) != napi_ok) {
    munmap(p, (size_t)length);
    return throw_errno(env, "mmap", ENOMEM);
  }
  return ab;
}

// munmap(buffer): unmaps a buffer returned by mmap() and detaches it.
static napi_value n_munmap(napi_env env, napi_callback_info info) {
  ARGS(1);
  void *data;
  size_t len;
  bool is;
  if (napi_is_arraybuffer(env, argv[0], &is) != napi_ok || !is || !get_bytes(env, argv[0], &data, &len))
    return type_error(env, "munmap: argument must be the ArrayBuffer returned by mmap");
  if (data == NULL) return undef(env); // already detached
  if (munmap(data, len) < 0) return throw_errno(env, "munmap", errno);
  napi_detach_arraybuffer(env, argv[0]);
  return undef(env);
}

// address(buffer): the host virtual address of the first byte, as a BigInt.
// Needed for structs that carry pointers (KVM memory slots, sock_fprog).
static napi_value n_address(napi_env env, napi_callback_info info) {
  ARGS(1);
  void *data;
  size_t len;
  if (!get_bytes(env, argv[0], &data, &len)) return type_error(env, "address: argument must be a Buffer or ArrayBuffer");
  napi_value r;
  napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)data, &r);
  return r;
}

// memfdCreate(name, flags): fd
static napi_value n_memfd_create(napi_env env, napi_callback_info info) {
  ARGS(2);
  char name[250];
  size_t nlen;
  int flags;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &nlen) != napi_ok || !get_int(env, argv[1], &flags))
    return type_error(env, "memfdCreate: name must be a string, flags an integer");
  int fd = memfd_create(name, (unsigned)flags | MFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "memfd_create", errno);
  return num(env, fd);
}

// ftruncate(fd, length)
static napi_value n_ftruncate(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fd;
  int64_t len;
  if (!get_int(env, argv[0], &fd) || !get_i64(env, argv[1], &len)) return type_error(env, "ftruncate: integers expected");
  if (ftruncate(fd, (off_t)len) < 0) return throw_errno(env, "ftruncate", errno);
  return undef(env);
}

// fstat(fd, buffer): the kernel fills `buffer` (at least sizeof(struct stat))
// with its struct stat; the layout is read in TypeScript. The fstat system
// call itself, not glibc's fstat(), which since glibc 2.33 is
// newfstatat(fd, "", AT_EMPTY_PATH): the seccomp policy allows fstat only.
static napi_value n_fstat(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fd;
  void *data;
  size_t len;
  if (!get_int(env, argv[0], &fd) || !get_bytes(env, argv[1], &data, &len)) return type_error(env, "fstat: fd and a buffer expected");
  if (len < sizeof(struct stat)) return type_error(env, "fstat: the buffer is smaller than struct stat");
  if (syscall(SYS_fstat, fd, data) < 0) return throw_errno(env, "fstat", errno);
  return undef(env);
}

// eventfd(initval, flags): fd
static napi_value n_eventfd(napi_env env, napi_callback_info info) {
  ARGS(2);
  int init, flags;
  if (!get_int(env, argv[0], &init) || !get_int(env, argv[1], &flags)) return type_error(env, "eventfd: integers expected");
  int fd = eventfd((unsigned)init, flags | EFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "eventfd", errno);
  return num(env, fd);
}

// read(fd, buffer): bytes read. EAGAIN is returned as -EAGAIN, not thrown,
// because non-blocking readers meet it on every empty poll.
static napi_value n_read(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fd;
  void *data;
  size_t len;
  if (!get_int(env, argv[0], &fd) || !get_bytes(env, argv[1], &data, &len)) return type_error(env, "read: fd and buffer expected");
  ssize_t r = read(fd, data, len);
  if (r < 0) {
    if (errno == EAGAIN) return num(env, -EAGAIN);
    return throw_errno(env, "read", errno);
  }
  return num(env, (double)r);
}

// write(fd, buffer): bytes written (-EAGAIN as for read).
static napi_value n_write(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fd;
  void *data;
  size_t len;
  if (!get_int(env, argv[0], &fd) || !get_bytes(env, argv[1], &data, &len)) return type_error(env, "write: fd and buffer expected");
  ssize_t r = write(fd, data, len);
  if (r < 0) {
    if (errno == EAGAIN) return num(env, -EAGAIN);
    return throw_errno(env, "write", errno);
  }
  return num(env, (double)r);
}

// Collect an array of buffers into an iovec array.
static int get_iov(napi_env env, napi_value arr, struct iovec *iov, uint32_t *count) {
  bool is;
  if (napi_is_array(env, arr, &is) != napi_ok || !is) return 0;
  uint32_t n;
  napi_get_array_length(env, arr, &n);
  if (n > MAX_IOV) return 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    napi_get_element(env, arr, i, &el);
    if (!get_bytes(env, el, &iov[i].iov_base, &iov[i].iov_len)) return 0;
  }
  *count = n;
  return 1;
}

// preadv(fd, buffers, position) / pwritev(fd, buffers, position): one vectored
// call at an explicit file position (no shared file offset).
static napi_value rwv(napi_env env, napi_callback_info info, int write_) {
  ARGS(3);
  int fd;
  int64_t pos;
  struct iovec iov[MAX_IOV];
  uint32_t n;
  if (!get_int(env, argv[0], &fd) || !get_iov(env, argv[1], iov, &n) || !get_i64(env, argv[2], &pos) || pos < 0)
    return type_error(env, write_ ? "pwritev: fd, buffer array (<= 1024) and position expected" : "preadv: fd, buffer array (<= 1024) and position expected");
  ssize_t r = write_ ? pwritev(fd, iov, (int)n, (off_t)pos) : preadv(fd, iov, (int)n, (off_t)pos);
  if (r < 0) return throw_errno(env, write_ ? "pwritev" : "preadv", errno);
  return num(env, (double)r);
}
static napi_value n_preadv(napi_env env, napi_callback_info info) { return rwv(env, info, 0); }
static napi_value n_pwritev(napi_env env, napi_callback_info info) { return rwv(env, info, 1); }

// readv(fd, buffers) / writev(fd, buffers): one vectored call at the fd's own
// position (a TAP or socket: one call moves one whole frame). EAGAIN is
// returned as -EAGAIN, as for read/write.
static napi_value rv(napi_env env, napi_callback_info info, int write_) {
  ARGS(2);
  int fd;
  struct iovec iov[MAX_IOV];
  uint32_t n;
  if (!get_int(env, argv[0], &fd) || !get_iov(env, argv[1], iov, &n))
    return type_error(env, write_ ? "writev: fd and buffer array (<= 1024) expected" : "readv: fd and buffer array (<= 1024) expected");
  ssize_t r = write_ ? writev(fd, iov, (int)n) : readv(fd, iov, (int)n);
  if (r < 0) {
    if (errno == EAGAIN) return num(env, -EAGAIN);
    return throw_errno(env, write_ ? "writev" : "readv", errno);
  }
  return num(env, (double)r);
}
static napi_value n_readv(napi_env env, napi_callback_info info) { return rv(env, info, 0); }
static napi_value n_writev(napi_env env, napi_callback_info info) { return rv(env, info, 1); }

// socketpair(domain, type): [fd, fd]. type may include SOCK_NONBLOCK.
static napi_value n_socketpair(napi_env env, napi_callback_info info) {
  ARGS(2);
  int domain, type, sv[2];
  if (!get_int(env, argv[0], &domain) || !get_int(env, argv[1], &type)) return type_error(env, "socketpair: domain and type must be integers");
  if (socketpair(domain, type | SOCK_CLOEXEC, 0, sv) < 0) return throw_errno(env, "socketpair", errno);
  napi_value arr;
  napi_create_array_with_length(env, 2, &arr);
  napi_set_element(env, arr, 0, num(env, sv[0]));
  napi_set_element(env, arr, 1, num(env, sv[1]));
  return arr;
}

// fdatasync(fd)
static napi_value n_fdatasync(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fd;
  if (!get_int(env, argv[0], &fd)) return type_error(env, "fdatasync: fd expected");
  if (fdatasync(fd) < 0) return throw_errno(env, "fdatasync", errno);
  return undef(env);
}

// fallocate(fd, mode, offset, length): virtio-blk DISCARD and WRITE_ZEROES
// (FALLOC_FL_PUNCH_HOLE / FALLOC_FL_ZERO_RANGE, always with KEEP_SIZE).
static napi_value n_fallocate(napi_env env, napi_callback_info info) {
  ARGS(4);
  int fd, mode;
  int64_t off, len;
  if (!get_int(env, argv[0], &fd) || !get_int(env, argv[1], &mode) || !get_i64(env, argv[2], &off) || !get_i64(env, argv[3], &len))
    return type_error(env, "fallocate: fd, mode, offset and length expected");
  if (fallocate(fd, mode, off, len) < 0) return throw_errno(env, "fallocate", errno);
  return undef(env);
}

// poll(pollfds: Buffer of struct pollfd, timeoutMs): number ready. The caller
// lays out struct pollfd (8 bytes: i32 fd, i16 events, i16 revents).
static napi_value n_poll(napi_env env, napi_callback_info info) {
  ARGS(2);
  void *data;
  size_t len;
  int timeout;
  if (!get_bytes(env, argv[0], &data, &len) || !get_int(env, argv[1], &timeout)) return type_error(env, "poll: buffer and timeout expected");
  int r = poll((struct pollfd *)data, len / sizeof(struct pollfd), timeout);
  if (r < 0) {
    if (errno == EINTR) return num(env, 0);
    return throw_errno(env, "poll", errno);
  }
  return num(env, r);
}

// prctl(option, arg2, arg3, arg4, arg5): result
static napi_value n_prctl(napi_env env, napi_callback_info info) {
  ARGS(5);
  int opt;
  int64_t a[4];
  if (!get_int(env, argv[0], &opt)) return type_error(env, "prctl: option must be an integer");
  for (int i = 0; i < 4; i++)
    if (!get_i64(env, argv[i + 1], &a[i])) return type_error(env, "prctl: arguments must be integers");
  int r = prctl(opt, (unsigned long)a[0], (unsigned long)a[1], (unsigned long)a[2], (unsigned long)a[3]);
  if (r < 0) return throw_errno(env, "prctl", errno);
  return num(env, r);
}

// seccomp(operation, flags, args: Buffer | null): the raw non-negative result.
// With SECCOMP_FILTER_FLAG_TSYNC a positive result is the TID of a thread that
// could not be synchronised; the caller must treat it as failure.
static napi_value n_seccomp(napi_env env, napi_callback_info info) {
  ARGS(3);
  int op, flags;
  void *data = NULL;
  size_t len;
  napi_valuetype t;
  if (!get_int(env, argv[0], &op) || !get_int(env, argv[1], &flags)) return type_error(env, "seccomp: operation and flags must be integers");
  napi_typeof(env, argv[2], &t);
  if (t != napi_null && !get_bytes(env, argv[2], &data, &len)) return type_error(env, "seccomp: args must be a Buffer or null");
  long r = syscall(SYS_seccomp, (unsigned)op, (unsigned)flags, data);
  if (r < 0) return throw_errno(env, "seccomp", errno);
  return num(env, (double)r);
}

// gettid(): the calling thread's id.
static napi_value n_gettid(napi_env env, napi_callback_info info) {
  (void)info;
  return num(env, (double)syscall(SYS_gettid));
}

// syscall6(nr, ...args): an arbitrary system call, for seccomp tests only.
// Returns the raw result or -errno; it never throws.
static napi_value n_raw_syscall(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t a[7] = {0};
  if (argc < 1) return type_error(env, "rawSyscall: number expected");
  for (size_t i = 0; i < argc; i++)
    if (!get_i64(env, argv[i], &a[i])) return type_error(env, "rawSyscall: integers expected");
  long r = syscall((long)a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
  return num(env, r < 0 ? -(double)errno : (double)r);
}

// exitGroup(code): ends the whole process at once, every thread included
// (exit_group(2)). Node's own exit joins worker threads, and a thread blocked
// in KVM_RUN or poll() would never join.
static napi_value n_exit_group(napi_env env, napi_callback_info info) {
  ARGS(1);
  int code;
  if (!get_int(env, argv[0], &code)) return type_error(env, "exitGroup: code must be an integer");
  syscall(SYS_exit_group, code);
  return undef(env); // not reached
}

// tgkill(tgid, tid, sig): sends `sig` to one thread of a process.
static napi_value n_tgkill(napi_env env, napi_callback_info info) {
  ARGS(3);
  int tgid, tid, sig;
  if (!get_int(env, argv[0], &tgid) || !get_int(env, argv[1], &tid) || !get_int(env, argv[2], &sig)) return type_error(env, "tgkill: tgid, tid and signal expected");
  if (syscall(SYS_tgkill, tgid, tid, sig) < 0) return throw_errno(env, "tgkill", errno);
  return undef(env);
}

// The kernel's sigset_t: 64 bits on x86_64 and arm64 (what rt_sig* take as sigsetsize).
#define KERNEL_SIGSET_BYTES 8

// sigprocmask(how, set: Buffer | null, oldset: Buffer | null): the calling
// thread's signal mask (rt_sigprocmask; both sets are 8-byte kernel sigsets).
static napi_value n_sigprocmask(napi_env env, napi_callback_info info) {
  ARGS(3);
  int how;
  void *set = NULL, *old = NULL;
  size_t len;
  napi_valuetype t;
  if (!get_int(env, argv[0], &how)) return type_error(env, "sigprocmask: how must be an integer");
  napi_typeof(env, argv[1], &t);
  if (t != napi_null && (!get_bytes(env, argv[1], &set, &len) || len < KERNEL_SIGSET_BYTES)) return type_error(env, "sigprocmask: set must be an 8-byte buffer or null");
  napi_typeof(env, argv[2], &t);
  if (t != napi_null && (!get_bytes(env, argv[2], &old, &len) || len < KERNEL_SIGSET_BYTES)) return type_error(env, "sigprocmask: oldset must be an 8-byte buffer or null");
  if (syscall(SYS_rt_sigprocmask, how, set, old, KERNEL_SIGSET_BYTES) < 0) return throw_errno(env, "rt_sigprocmask", errno);
  return undef(env);
}

// sigtimedwait(set: Buffer, timeoutMs): takes one pending signal of `set`
// (rt_sigtimedwait, without siginfo): its number, or -errno (-EAGAIN when
// none came within the timeout, -EINTR). Never throws for those.
static napi_value n_sigtimedwait(napi_env env, napi_callback_info info) {
  ARGS(2);
  void *set;
  size_t len;
  int ms;
  if (!get_bytes(env, argv[0], &set, &len) || len < KERNEL_SIGSET_BYTES || !get_int(env, argv[1], &ms) || ms < 0) return type_error(env, "sigtimedwait: an 8-byte set and a timeout expected");
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  long r = syscall(SYS_rt_sigtimedwait, set, NULL, &ts, KERNEL_SIGSET_BYTES);
  return num(env, r < 0 ? -(double)errno : (double)r);
}

// ---- vectored I/O from an iovec table (the device workers' data path) ----
//
// readvEach / writevEach / preadvEach / pwritevEach(fd, iov, counts, n,
// results[, positions]): n calls of readv(2) / writev(2) / preadv(2) /
// pwritev(2), one per entry, in order, with nothing else in between. Still
// one system call per operation; the table only saves a JavaScript <-> C
// crossing per frame or request.
//   iov        Float64Array of [host address, length] pairs: the segments of
//              entry 0, then of entry 1, ... Addresses come from
//              GuestMemory.hostAddress(), which checked them against guest
//              RAM; nothing here can check them again (the kernel refuses
//              unmapped ones with EFAULT).
//   counts     Int32Array: entry i has counts[i] segments (1..1024)
//   results    Int32Array: per entry, bytes moved or -errno (never thrown)
//   positions  Float64Array: per entry, the file position (preadv, pwritev)
// Returns the number of entries whose result is in `results`. Stops after an
// entry that returned -EAGAIN (a full or empty non-blocking fd), and for
// readvEach after one that returned 0 (EOF) or whose bytes reached its last
// segment (each entry's last segment is overflow room the caller must look
// at before the next read lands).
enum { IO_READV, IO_WRITEV, IO_PREADV, IO_PWRITEV };

static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok) return 0;
  return type == want;
}

static napi_value io_each(napi_env env, napi_callback_info info, int op) {
  int positioned = op == IO_PREADV || op == IO_PWRITEV;
  ARGS(positioned ? 6 : 5);
  int fd;
  int64_t n;
  double *iov, *pos = NULL;
  int32_t *counts, *results;
  size_t iov_len, counts_len, results_len, pos_len = 0;
  if (!get_int(env, argv[0], &fd) || !get_typed(env, argv[1], napi_float64_array, (void **)&iov, &iov_len) ||
      !get_typed(env, argv[2], napi_int32_array, (void **)&counts, &counts_len) || !get_i64(env, argv[3], &n) ||
      !get_typed(env, argv[4], napi_int32_array, (void **)&results, &results_len) ||
      (positioned && !get_typed(env, argv[5], napi_float64_array, (void **)&pos, &pos_len)))
    return type_error(env, "io each: fd, Float64Array iov, Int32Array counts, n, Int32Array results[, Float64Array positions] expected");
  if (n < 0 || (size_t)n > counts_len || (size_t)n > results_len || (positioned && (size_t)n > pos_len)) return type_error(env, "io each: n exceeds the tables");
  size_t segs = 0;
  for (int64_t i = 0; i < n; i++) {
    if (counts[i] < 1 || counts[i] > MAX_IOV) return type_error(env, "io each: an entry has 1..1024 segments");
    segs += (size_t)counts[i];
  }
  if (segs > iov_len / 2) return type_error(env, "io each: the counts exceed the iov table");
  struct iovec v[MAX_IOV];
  const double *s = iov;
  int64_t i;
  for (i = 0; i < n; i++) {
    int c = counts[i];
    size_t total = 0, last = 0;
    for (int k = 0; k < c; k++, s += 2) {
      double a = s[0], l = s[1];
      if (!(a >= 0 && a < 9007199254740992.0 && l >= 0 && l <= 2147483647.0)) return type_error(env, "io each: a segment's address or length is out of range");
      v[k].iov_base = (void *)(uintptr_t)a;
      v[k].iov_len = (size_t)l;
      last = (size_t)l;
      total += (size_t)l;
    }
    ssize_t r;
    switch (op) {
      case IO_READV: r = readv(fd, v, c); break;
      case IO_WRITEV: r = writev(fd, v, c); break;
      case IO_PREADV: r = preadv(fd, v, c, (off_t)pos[i]); break;
      default: r = pwritev(fd, v, c, (off_t)pos[i]); break;
    }
    results[i] = r < 0 ? -errno : (int32_t)r;
    if (r < 0 && errno == EAGAIN && !positioned) return num(env, (double)(i + 1));
    if (op == IO_READV && (r == 0 || (r > 0 && (size_t)r > total - last))) return num(env, (double)(i + 1));
  }
  return num(env, (double)i);
}
static napi_value n_readv_each(napi_env env, napi_callback_info info) { return io_each(env, info, IO_READV); }
static napi_value n_writev_each(napi_env env, napi_callback_info info) { return io_each(env, info, IO_WRITEV); }
static napi_value n_preadv_each(napi_env env, napi_callback_info info) { return io_each(env, info, IO_PREADV); }
static napi_value n_pwritev_each(napi_env env, napi_callback_info info) { return io_each(env, info, IO_PWRITEV); }

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback cb; } fns[] = {
      {"open", n_open},         {"close", n_close},         {"ioctl", n_ioctl},
      {"ioctlInt", n_ioctl_int}, {"mmap", n_mmap},          {"munmap", n_munmap},
      {"address", n_address},   {"memfdCreate", n_memfd_create}, {"ftruncate", n_ftruncate},
      {"eventfd", n_eventfd},   {"read", n_read},           {"write", n_write},
      {"preadv", n_preadv},     {"pwritev", n_pwritev},     {"fdatasync", n_fdatasync},
      {"poll", n_poll},         {"prctl", n_prctl},         {"seccomp", n_seccomp},
      {"gettid", n_gettid},     {"exitGroup", n_exit_group},     {"rawSyscall", n_raw_syscall}, {"readv", n_readv},
      {"writev", n_writev},     {"socketpair", n_socketpair}, {"fallocate", n_fallocate},
      {"tgkill", n_tgkill},     {"sigprocmask", n_sigprocmask}, {"sigtimedwait", n_sigtimedwait},
      {"fstat", n_fstat},
      {"readvEach", n_readv_each}, {"writevEach", n_writev_each}, {"preadvEach", n_preadv_each},
      {"pwritevEach", n_pwritev_each},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  return exports;
}
