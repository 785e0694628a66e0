// Test support: synthetic arm64 Image headers, and the real Debian arm64
// kernel another helper caches under ~/.cache/tsvmm/testhost-arm64/ (when it
// is there). Used only by *.test.ts files.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ARM64_IMAGE, ARM64_IMAGE_FLAG } from './arm64_image.js';

export interface MockArm64ImageOptions {
  textOffset?: number;
  imageSize?: number;
  /** Raw flags word (default: little endian, 4K pages, place anywhere). */
  flags?: number;
  /** File length (default 64 KiB). */
  length?: number;
  /** Start with "MZ" like an EFI-stub kernel (default true). */
  efiStub?: boolean;
}

/** A minimal arm64 Image: the 64-byte header, then a recognisable body. */
export function mockArm64Image(o: MockArm64ImageOptions = {}): Uint8Array {
  const length = o.length ?? 0x10000;
  const b = new Uint8Array(length);
  const dv = new DataView(b.buffer);
  if (o.efiStub ?? true) b.set([0x4d, 0x5a]);
  dv.setBigUint64(ARM64_IMAGE.TEXT_OFFSET, BigInt(o.textOffset ?? 0), true);
  dv.setBigUint64(ARM64_IMAGE.IMAGE_SIZE, BigInt(o.imageSize ?? length + 0x20000), true);
  dv.setBigUint64(ARM64_IMAGE.FLAGS, BigInt(o.flags ?? ((1 << ARM64_IMAGE_FLAG.PAGE_SIZE_SHIFT) | ARM64_IMAGE_FLAG.PHYS_BASE)), true);
  dv.setUint32(ARM64_IMAGE.MAGIC_OFFSET, ARM64_IMAGE.MAGIC, true);
  for (let i = ARM64_IMAGE.HEADER_SIZE; i < length; i++) b[i] = i & 0xff;
  return b;
}

export const ARM64_KERNEL_DIR = join(homedir(), '.cache', 'tsvmm', 'testhost-arm64');
export const NO_ARM64_KERNEL = `no Debian arm64 kernel under ${ARM64_KERNEL_DIR} (the arm64 test-host helper puts one there); tested with synthetic headers only`;

/** Finds a cached arm64 kernel (vmlinuz-*-arm64 or Image) a few levels below ARM64_KERNEL_DIR. */
export function debianArm64ImagePath(dir: string = ARM64_KERNEL_DIR, depth = 4): string | undefined {
  if (depth < 0 || !existsSync(dir)) return undefined;
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return undefined;
  }
  for (const name of names) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isFile() && /^(vmlinuz-.*arm64|Image)$/.test(name) && st.size > 1024 * 1024) return p;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) {
      const found = debianArm64ImagePath(p, depth - 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
