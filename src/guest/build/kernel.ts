// The guest's kernel. custom: Debian's linux-source, patched, configured
// with allnoconfig + configs/linux-x86_64.config and built (bzImage and
// vmlinux kept in guest/kernels/<key>/). debian: Debian's linux-image-*
// package, its vmlinuz taken as is, with the modules the guest needs
// resolved from its modules.dep.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { AptPackage } from '../apt.js';
import { run, runLogged } from '../exec.js';
import type { GuestModule } from '../initramfs.js';
import { formatMismatches, kconfigMismatches, parseKconfig } from '../kconfig.js';
import { parseModulesBuiltin, parseModulesDep, resolveModules } from '../modules.js';
import type { Progress } from '../progress.js';
import { DEBIAN_MODULES, INPUT_FILES, type KernelPatch } from './inputs.js';
import { GuestBuildError } from './options.js';

/** What a custom kernel build needs besides the source package's .deb. */
export interface KernelBuild {
  /** The linux-source-* package and its .deb. */
  readonly source: AptPackage;
  readonly sourceDeb: string;
  readonly patches: readonly KernelPatch[];
  /** make -jN. */
  readonly jobs: number;
  readonly progress: Progress;
}

/** Files of a built kernel in guest/kernels/<key>/, and where make left them in its output tree. */
export const KERNEL_FILES = { bzImage: 'arch/x86/boot/bzImage', vmlinux: 'vmlinux', config: '.config' } as const;

/** Unpacks usr/src/linux-source-*.tar.xz from the .deb into `work`; returns the source tree. */
function extractSource(pkg: AptPackage, deb: string, work: string, progress: Progress): string {
  progress.stage(`extracting ${pkg.name} (a kernel source tarball inside the .deb)`);
  // Straight from the pipe: the .deb holds /usr/src/linux-source-<ver>.tar.xz.
  run('bash', ['-o', 'pipefail', '-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - --wildcards "./usr/src/linux-source-*.tar.xz" | tar -xJf - -C "$2"', 'bash', deb, work]);
  const srcName = readdirSync(work).find((d) => d.startsWith('linux-source-'));
  if (srcName === undefined) throw new GuestBuildError(`${basename(deb)} held no usr/src/linux-source-*.tar.xz`);
  return join(work, srcName);
}

/** Applies each patch, after a dry run that changes nothing if it does not apply. */
function applyPatches(src: string, patches: readonly KernelPatch[], progress: Progress): void {
  for (const p of patches) {
    progress.stage(`patching: ${p.name}`);
    run('patch', ['-p1', '--forward', '--batch', '--dry-run', '-i', p.path], { cwd: src });
    run('patch', ['-p1', '--forward', '--batch', '-i', p.path], { cwd: src });
  }
}

/** allnoconfig + the fragment into `out`/.config; throws when a requested value did not stick. */
function configure(src: string, out: string, progress: Progress): void {
  const fragment = INPUT_FILES.fragment;
  progress.stage(`configuring: allnoconfig + ${basename(fragment)} (merge_config.sh)`);
  mkdirSync(out);
  run(join(src, 'scripts/kconfig/merge_config.sh'), ['-n', '-O', out, fragment], { cwd: src });
  const wanted = parseKconfig(readFileSync(fragment, 'utf8'));
  const got = parseKconfig(readFileSync(join(out, '.config'), 'utf8'));
  const mismatches = kconfigMismatches(wanted, got);
  if (mismatches.length > 0) {
    throw new GuestBuildError(
      `the kernel config did not take these values from ${fragment} (a dependency is off, or the option does not exist in ${basename(src)}):\n${formatMismatches(mismatches)}`,
    );
  }
}

/** make bzImage under nice, its output in `logPath`, the count of compiled files as live progress. */
async function compile(src: string, out: string, logPath: string, jobs: number, progress: Progress): Promise<void> {
  progress.stage(`building the kernel: make -j${jobs} bzImage, 10 to 20 minutes on 2 cores (log: ${logPath})`);
  let compiled = 0;
  // The version string's user@host (scripts/mkcompile_h), instead of the build machine's.
  const env = { ...process.env, KBUILD_BUILD_USER: 'tsvmm', KBUILD_BUILD_HOST: 'tsvmm' };
  await runLogged('nice', ['-n', '19', 'make', '-C', src, `O=${out}`, `-j${jobs}`, 'bzImage'], {
    cwd: src,
    env,
    logPath,
    onLine: (l) => {
      if (/^\s+CC\s/.test(l)) progress.update(`${++compiled} files compiled`);
    },
  });
}

/** Builds the custom kernel into `kernelDir` (bzImage, vmlinux, config, build.log); the source tree is removed after. */
export async function buildCustomKernel(kernelDir: string, b: KernelBuild): Promise<void> {
  const work = `${kernelDir}.work`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const src = extractSource(b.source, b.sourceDeb, work, b.progress);
  applyPatches(src, b.patches, b.progress);
  const out = join(work, 'out');
  configure(src, out, b.progress);
  const logPath = join(work, 'build.log');
  await compile(src, out, logPath, b.jobs, b.progress);

  const tmp = `${kernelDir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  copyFileSync(join(out, KERNEL_FILES.bzImage), join(tmp, 'bzImage'));
  copyFileSync(join(out, KERNEL_FILES.vmlinux), join(tmp, 'vmlinux'));
  copyFileSync(join(out, KERNEL_FILES.config), join(tmp, 'config'));
  copyFileSync(logPath, join(tmp, 'build.log'));
  renameSync(tmp, kernelDir);
  // The source and object trees take well over a gigabyte.
  rmSync(work, { recursive: true, force: true });
}

/** Debian's kernel, unpacked: its release, its vmlinuz, and the guest's modules in load order. */
export interface DebianKernel {
  readonly release: string;
  readonly vmlinuz: string;
  readonly modules: GuestModule[];
  /** The package, as the manifest names it. */
  readonly source: string;
}

/** Unpacks the linux-image-* .deb into `scratch` and reads the modules DEBIAN_MODULES needs (those not built in). */
export function debianKernel(image: AptPackage, imageDeb: string, scratch: string, progress: Progress): DebianKernel {
  progress.stage(`extracting ${basename(imageDeb)} and resolving modules (depmod, modules.dep)`);
  const root = join(scratch, 'image');
  run('dpkg-deb', ['-x', imageDeb, root]);
  const release = readdirSync(join(root, 'lib/modules'))[0];
  if (release === undefined) throw new GuestBuildError(`${basename(imageDeb)} has no lib/modules/<version>`);
  const vmlinuz = join(root, 'boot', `vmlinuz-${release}`);
  if (!existsSync(vmlinuz)) throw new GuestBuildError(`${basename(imageDeb)} has no boot/vmlinuz-${release}`);
  // Debian generates modules.dep at install time (postinst), so the package has none: make it.
  const modDir = join(root, 'lib/modules', release);
  run('depmod', ['-b', root, release]);
  const dep = parseModulesDep(readFileSync(join(modDir, 'modules.dep'), 'utf8'));
  const builtinPath = join(modDir, 'modules.builtin');
  const builtin = existsSync(builtinPath) ? parseModulesBuiltin(readFileSync(builtinPath, 'utf8')) : new Set<string>();
  const order = resolveModules(
    dep,
    DEBIAN_MODULES.filter((m) => !builtin.has(m)),
  );
  const modules = order.map((m) => ({ name: m.name, data: readModule(join(modDir, m.path)) }));
  return { release, vmlinuz, modules, source: `${image.name} ${image.version}` };
}

/** The decompressor for a module file's suffix; busybox insmod loads plain .ko files only. */
const DECOMPRESS: ReadonlyArray<readonly [string, string]> = [
  ['.xz', 'xz'],
  ['.zst', 'zstd'],
  ['.gz', 'gzip'],
];

/** A module file's ELF bytes. */
function readModule(path: string): Uint8Array {
  const d = DECOMPRESS.find(([ext]) => path.endsWith(ext));
  if (d === undefined) return new Uint8Array(readFileSync(path));
  const r = spawnSync(d[1], ['-dc', path], { maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new GuestBuildError(`${d[1]} -dc ${path} failed: ${r.error?.message ?? r.stderr}`);
  return new Uint8Array(r.stdout);
}
