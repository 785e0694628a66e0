// Limits of the Linux system calls tsvmm makes.

/** Most iovecs one readv/writev/preadv/pwritev takes (include/uapi/linux/uio.h UIO_MAXIOV; glibc IOV_MAX). */
export const IOV_MAX = 1024;
