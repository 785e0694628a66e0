// `npm run guest` (scripts/build-guest.mjs): builds tsvmm's default guest
// from Debian's packages, and finds it for `npm start`.
//
// custom (default on x86_64): a kernel built from Debian's linux-source with
//   configs/linux-x86_64.config and configs/patches/*.patch (10 to 20
//   minutes on 2 cores), keeping bzImage and vmlinux (build/kernel.ts).
// debian: Debian's stock linux-image-*-amd64 (or -arm64 with --arch arm64,
//   fetched on any host after `dpkg --add-architecture arm64`), with the
//   virtio and ext4 modules it needs in the initramfs.
// Both: an initramfs with busybox and configs/init.sh as /init
// (build/initramfs.ts) and a 64 MiB ext4 disk with a README (build/disk.ts).
//
// Everything goes to ${XDG_CACHE_HOME:-~/.cache}/tsvmm/guest/<key>/, <key>
// covering every input (build/inputs.ts); a complete folder is reused. A
// custom kernel is kept apart in guest/kernels/<kernel key>/ so a change to
// the init script does not rebuild it; .debs are kept in guest/debs/.
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AptPackage } from './apt.js';
import type { GuestModule } from './initramfs.js';
import { Progress } from './progress.js';
import { makeDisk } from './build/disk.js';
import { writeGuestInitramfs } from './build/initramfs.js';
import { customKernelKey, debianKernelKey, GUEST_BUILD_VERSION, guestKey, INPUT_FILES, readPatches, type KernelPatch } from './build/inputs.js';
import { buildCustomKernel, debianKernel } from './build/kernel.js';
import { artefactNames, describeGuest, readGuest, withPaths, type Guest, type GuestManifest, type KernelInfo } from './build/manifest.js';
import { checkTarget, parseBuildArgs, usage, type GuestTarget } from './build/options.js';
import { Apt } from './build/packages.js';

export { describeGuest, type Guest, type GuestManifest } from './build/manifest.js';
export { GuestBuildError } from './build/options.js';

/** ${XDG_CACHE_HOME:-~/.cache}/tsvmm/guest */
export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'tsvmm', 'guest');
}

export interface EnsureGuestOptions {
  /** custom (default) or debian. */
  readonly variant?: string;
  /** x86_64 (default) or arm64. */
  readonly arch?: string;
  /** Rebuild even when the cache folder is there. */
  readonly force?: boolean;
  /** make -jN for the kernel (default: the number of cores). */
  readonly jobs?: number;
  readonly progress?: Progress;
  /** Called when a build starts (not for a guest found in the cache). */
  readonly beforeBuild?: () => void;
}

/** A guest to find or build: its packages, inputs and keys. */
interface Plan extends GuestTarget {
  readonly root: string;
  readonly dir: string;
  readonly kernelKey: string;
  readonly guestKey: string;
  readonly busybox: AptPackage;
  /** linux-source-* (custom) or linux-image-* (debian). */
  readonly kernelPkg: AptPackage;
  readonly patches: readonly KernelPatch[];
  readonly initScript: string;
}

/** Asks apt for the packages' versions and derives the keys. */
function plan(target: GuestTarget, apt: Apt): Plan {
  const root = cacheRoot();
  const initScript = readFileSync(INPUT_FILES.initScript, 'utf8');
  // Debian architecture qualifier for apt: none for the host's own (amd64).
  const q = target.arch === 'arm64' ? ':arm64' : '';
  if (target.arch === 'arm64') apt.ensureForeignArch('arm64');
  const custom = target.variant === 'custom';
  const kernelMeta = custom ? 'linux-source' : `${target.arch === 'arm64' ? 'linux-image-arm64' : 'linux-image-amd64'}${q}`;
  const pkgs = apt.resolve([`busybox-static${q}`], { [kernelMeta]: custom ? 'linux-source-' : 'linux-image-' }, q);
  const busybox = pkgs.get(`busybox-static${q}`)!;
  const kernelPkg = pkgs.get(kernelMeta)!;
  const patches = custom ? readPatches() : [];
  const kernelKey = custom ? customKernelKey({ fragmentText: readFileSync(INPUT_FILES.fragment, 'utf8'), patches, source: kernelPkg }) : debianKernelKey(kernelPkg);
  const key = guestKey({ ...target, kernelKey, initScript, busybox });
  return { ...target, root, dir: join(root, key), kernelKey, guestKey: key, busybox, kernelPkg, patches, initScript };
}

/** Hard link, or copy where links cannot be made (another file system). */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

interface KernelStage {
  readonly info: KernelInfo;
  /** Modules for the initramfs (Debian's kernel only). */
  readonly modules: GuestModule[];
}

/** Puts the kernel into `tmp`: the custom one from guest/kernels/ (built when absent), or Debian's. */
async function kernelStage(p: Plan, tmp: string, scratch: string, apt: Apt, o: { force: boolean; jobs: number; progress: Progress }): Promise<KernelStage> {
  const debsDir = join(p.root, 'debs');
  const source = `${p.kernelPkg.name} ${p.kernelPkg.version}`;
  if (p.variant === 'debian') {
    const k = debianKernel(p.kernelPkg, apt.fetchDeb(p.kernelPkg, debsDir), scratch, o.progress);
    copyFileSync(k.vmlinuz, join(tmp, p.arch === 'arm64' ? 'Image' : 'bzImage'));
    return { info: { source, release: k.release, modules: k.modules.map((m) => m.name) }, modules: k.modules };
  }
  const kernelDir = join(p.root, 'kernels', p.kernelKey);
  if (o.force || !existsSync(join(kernelDir, 'bzImage'))) {
    rmSync(kernelDir, { recursive: true, force: true });
    mkdirSync(dirname(kernelDir), { recursive: true });
    const sourceDeb = apt.fetchDeb(p.kernelPkg, debsDir);
    await buildCustomKernel(kernelDir, { source: p.kernelPkg, sourceDeb, patches: p.patches, jobs: o.jobs, progress: o.progress });
  } else {
    o.progress.stage(`kernel: reusing ${kernelDir}`);
  }
  for (const f of ['bzImage', 'vmlinux', 'config']) linkOrCopy(join(kernelDir, f), join(tmp, f));
  return { info: { source, kernelDir }, modules: [] };
}

/** Builds the guest into `p.dir` (through a temporary folder renamed at the end). */
async function build(p: Plan, apt: Apt, o: { force: boolean; jobs: number; progress: Progress }): Promise<Guest> {
  mkdirSync(p.root, { recursive: true });
  const tmp = `${p.dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const scratch = mkdtempSync(join(p.root, 'scratch.'));
  try {
    const kernel = await kernelStage(p, tmp, scratch, apt, o);
    const initramfs = { busybox: p.busybox, foreign: p.arch === 'arm64', initScript: p.initScript, modules: kernel.modules };
    writeGuestInitramfs(join(tmp, 'initramfs.cpio'), { ...initramfs, apt, debsDir: join(p.root, 'debs'), scratch, progress: o.progress });
    makeDisk(join(tmp, 'disk.img'), scratch, o.progress);
    const manifest: GuestManifest = {
      tsvmmGuest: GUEST_BUILD_VERSION,
      variant: p.variant,
      arch: p.arch,
      key: p.guestKey,
      kernel: kernel.info,
      busybox: `${p.busybox.name} ${p.busybox.version}`,
      append: 'rdinit=/init',
      // File names in the folder; withPaths() makes them absolute when read.
      artefacts: artefactNames(p.variant, p.arch),
      buildSeconds: o.progress.secs(),
      builtAt: new Date().toISOString(),
    };
    writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    rmSync(p.dir, { recursive: true, force: true });
    renameSync(tmp, p.dir);
    o.progress.end();
    return { dir: p.dir, manifest: withPaths(p.dir, manifest), reused: false };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The guest for `variant` and `arch`: from the cache when its folder is complete, else built now. */
export async function ensureGuest(o: EnsureGuestOptions = {}): Promise<Guest> {
  const target = checkTarget(o.variant ?? 'custom', o.arch ?? 'x86_64');
  const progress = o.progress ?? new Progress(process.stderr);
  const force = o.force ?? false;
  const apt = new Apt(progress);
  const p = plan(target, apt);
  const cached = force ? undefined : readGuest(p.dir);
  if (cached !== undefined) return cached;
  o.beforeBuild?.();
  apt.ensureHostTools(target.variant);
  return build(p, apt, { force, jobs: o.jobs ?? availableParallelism(), progress });
}

/** `npm run guest -- ARGS`: builds or finds the guest and says where it is; returns the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const a = parseBuildArgs(argv, process.arch, availableParallelism());
    if (a.help) {
      console.log(usage(cacheRoot()));
      return 0;
    }
    const g = await ensureGuest(a);
    console.log(describeGuest(g));
    console.log(`boot it: npm start${a.variant === 'debian' ? ' -- --kernel debian' : ''}`);
    return 0;
  } catch (e) {
    process.stderr.write(`\nbuild-guest: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
