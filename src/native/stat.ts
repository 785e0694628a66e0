// struct stat as the fstat system call fills it, for the one field the VMM
// reads after the seal: a file's size. x86_64 (arch/x86/include/uapi/asm/
// stat.h): dev, ino, nlink (8 each), mode, uid, gid, pad (4 each), rdev (8),
// size (8) at offset 48, 144 bytes in all. arm64 (include/uapi/asm-generic/
// stat.h): dev, ino (8 each), mode, nlink, uid, gid (4 each), rdev, pad (8
// each), size (8) at offset 48, 128 bytes in all.
import { native } from './addon.js';

export const STAT = {
  /** sizeof(struct stat): the larger of the two (x86_64). */
  SIZE: 144,
  /** st_size: the same offset on both architectures. */
  SIZE_OFFSET: 48,
} as const;

/** The size in bytes of the file behind `fd` (one fstat system call); `scratch` is reused. */
export function fileSize(fd: number, scratch: Buffer = Buffer.alloc(STAT.SIZE)): number {
  native.fstat(fd, scratch);
  return Number(scratch.readBigInt64LE(STAT.SIZE_OFFSET));
}
