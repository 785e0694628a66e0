// guest/<key>/manifest.json: what was built from what, and the artefacts'
// file names in the folder. A folder whose manifest and artefacts are all
// there is reused as it is.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { GuestArch, GuestVariant } from './options.js';

/** Artefact file names (in the manifest) or absolute paths (from readManifest/withPaths); null: not built for this variant. */
export interface GuestArtefacts {
  /** The x86_64 kernel, or arm64's Image (one of the two). */
  readonly bzImage?: string;
  readonly Image?: string;
  /** The custom kernel's ELF (null for Debian's kernel). */
  readonly vmlinux: string | null;
  readonly initramfs: string;
  readonly disk: string;
}

/** The custom kernel's package and folder, or Debian's package, release and modules. */
export type KernelInfo = { readonly source: string; readonly kernelDir: string } | { readonly source: string; readonly release: string; readonly modules: readonly string[] };

export interface GuestManifest {
  /** GUEST_BUILD_VERSION of the build that wrote it. */
  readonly tsvmmGuest: number;
  readonly variant: GuestVariant;
  /** Absent in manifests written before arm64 guests: x86_64. */
  readonly arch?: GuestArch;
  readonly key: string;
  readonly kernel: KernelInfo;
  readonly busybox: string;
  /** The kernel command line tsvmm should add to its own (console=ttyS0 ...). */
  readonly append: string;
  readonly artefacts: GuestArtefacts;
  readonly buildSeconds: number;
  readonly builtAt: string;
}

/** A guest in the cache: its folder and manifest (artefact paths absolute), and whether it was there before this call. */
export interface Guest {
  readonly dir: string;
  readonly manifest: GuestManifest;
  readonly reused: boolean;
}

/** The file names a build writes. */
export function artefactNames(variant: GuestVariant, arch: GuestArch): GuestArtefacts {
  return {
    ...(arch === 'arm64' ? { Image: 'Image' } : { bzImage: 'bzImage' }),
    vmlinux: variant === 'custom' ? 'vmlinux' : null,
    initramfs: 'initramfs.cpio',
    disk: 'disk.img',
  };
}

/** The manifest with its artefact file names made absolute paths in `dir`. */
export function withPaths(dir: string, manifest: GuestManifest): GuestManifest {
  const entries = Object.entries(manifest.artefacts) as [string, string | null][];
  const artefacts = Object.fromEntries(entries.map(([k, f]) => [k, f === null ? null : join(dir, f)])) as unknown as GuestArtefacts;
  return { ...manifest, artefacts };
}

/** The guest in `dir` when its manifest and every artefact it names exist, else undefined. */
export function readGuest(dir: string): Guest | undefined {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) return undefined;
  const manifest = withPaths(dir, JSON.parse(readFileSync(manifestPath, 'utf8')) as GuestManifest);
  const complete = Object.values(manifest.artefacts).every((p: string | null | undefined) => p === null || p === undefined || existsSync(p));
  return complete ? { dir, manifest, reused: true } : undefined;
}

function mib(path: string): string {
  return `${(statSync(path).size / 1048576).toFixed(1)} MiB`;
}

/** What was built (or found) and where, one artefact a line with its size. */
export function describeGuest({ dir, manifest, reused }: Guest): string {
  const a = manifest.artefacts;
  const rows: [string, string | null | undefined][] = [
    ['kernel', a.bzImage ?? a.Image],
    ['vmlinux', a.vmlinux],
    ['initramfs', a.initramfs],
    ['disk', a.disk],
  ];
  const lines = [`guest (${manifest.arch ?? 'x86_64'} ${manifest.variant}: ${manifest.kernel.source}) ${reused ? 'already built' : `built in ${manifest.buildSeconds}s`}: ${dir}`];
  for (const [name, p] of rows) if (p) lines.push(`  ${name.padEnd(10)}${p} (${mib(p)})`);
  return lines.join('\n');
}
