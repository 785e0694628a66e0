// What a guest build is made from, and the cache keys derived from it.
//
// The guest's folder is guest/<guest key>/ and a custom kernel's is
// guest/kernels/<kernel key>/: each key is the first 16 hex digits of the
// SHA-256 of a JSON object naming every input. The objects' fields, their
// order and the constants below are part of the keys: changing any of them
// rebuilds every cached guest (a custom kernel takes 10-20 minutes), so bump
// GUEST_BUILD_VERSION on purpose when the build's output changes, and leave
// the rest as it is otherwise.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseKconfig } from '../kconfig.js';
import type { GuestArch, GuestVariant } from './options.js';

/** Bump when the build changes what it makes: it is part of every cache key. */
export const GUEST_BUILD_VERSION = 1;

/** The repository (this file is dist/src/guest/build/inputs.js once compiled). */
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
/** Inputs read from the repository. */
export const INPUT_FILES = {
  /** The custom kernel's config fragment (merged onto allnoconfig). */
  fragment: join(REPO, 'configs/linux-x86_64.config'),
  /** Patches applied to the kernel source in name order (configs/patches/*.patch). */
  patchDir: join(REPO, 'configs/patches'),
  /** The initramfs's /init. */
  initScript: join(REPO, 'configs/init.sh'),
} as const;

/** Size of disk.img: 64 MiB, room for a few files and ext4's journal. */
export const DISK_SIZE = '64M';
/** The README in disk.img. Part of the guest key: its text is kept as first written. */
export const DISK_README = `This is tsvmm's guest disk: an ext4 file system on a virtio-blk device
(/dev/vda), mounted read/write on /mnt by the guest's /init.
It was made by scripts/build-guest.mjs with mkfs.ext4 -d. npm start boots a
working copy of it (disk-rw.img beside disk.img in the cache folder); files
you write here stay there across boots until npm start -- --fresh-disk.
`;

/**
 * Modules the Debian kernel needs for the guest's devices, in the order
 * wanted. crc32c_generic is named because ext4 only soft-depends on crc32c
 * (modinfo ext4: "softdep: pre: crypto-crc32c"), which modules.dep does not list, and
 * mkfs.ext4's metadata_csum needs it to mount.
 */
export const DEBIAN_MODULES: readonly string[] = ['virtio_pci', 'virtio_blk', 'virtio_net', 'crc32c_generic', 'ext4'];

/** A package as the keys name it. */
export interface PackageId {
  readonly name: string;
  readonly version: string;
}

export interface KernelPatch {
  readonly name: string;
  readonly path: string;
  readonly text: string;
}

/** The first 16 hex digits of the SHA-256 of `value` as JSON. */
export function sha16(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** The patches in `dir` (*.patch), in name order; none when the folder is absent. */
export function readPatches(dir: string = INPUT_FILES.patchDir): KernelPatch[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((f) => ({ name: f, path: join(dir, f), text: readFileSync(join(dir, f), 'utf8') }));
}

/** What a custom kernel is built from. */
export interface CustomKernelInputs {
  /** The config fragment's text: only its values count, not its comments. */
  readonly fragmentText: string;
  readonly patches: readonly Pick<KernelPatch, 'name' | 'text'>[];
  /** The linux-source-* package. */
  readonly source: PackageId;
}

/** The custom kernel's cache key (guest/kernels/<key>/). */
export function customKernelKey(i: CustomKernelInputs): string {
  return sha16({
    v: GUEST_BUILD_VERSION,
    // The values it asks for, not its text: editing a comment rebuilds nothing.
    fragment: [...parseKconfig(i.fragmentText)],
    patches: i.patches.map(({ name, text }) => ({ name, text })),
    source: { name: i.source.name, version: i.source.version },
  });
}

/** The Debian kernel's key: its linux-image-* package and the modules taken from it. */
export function debianKernelKey(image: PackageId, modules: readonly string[] = DEBIAN_MODULES): string {
  return sha16({ v: GUEST_BUILD_VERSION, image: { name: image.name, version: image.version }, modules });
}

export interface GuestInputs {
  readonly variant: GuestVariant;
  readonly arch: GuestArch;
  /** customKernelKey() or debianKernelKey(). */
  readonly kernelKey: string;
  /** The text of /init. */
  readonly initScript: string;
  readonly busybox: PackageId;
}

/** The guest's cache key (guest/<key>/). */
export function guestKey(i: GuestInputs): string {
  return sha16({
    v: GUEST_BUILD_VERSION,
    // Only non-default architectures are named, so x86_64 keys stay as they were.
    ...(i.arch === 'x86_64' ? {} : { arch: i.arch }),
    variant: i.variant,
    kernel: i.kernelKey,
    init: i.initScript,
    busybox: { name: i.busybox.name, version: i.busybox.version },
    disk: { size: DISK_SIZE, readme: DISK_README },
  });
}
