#!/usr/bin/env node
// `npm run guest`: builds tsvmm's default guest from Debian's packages.
//
//   node scripts/build-guest.mjs [--kernel custom|debian] [--arch x86_64|arm64] [--force] [--jobs N]
//
// custom (default): a kernel built from Debian's linux-source package with
//   configs/linux-x86_64.config and configs/patches/*.patch (10 to 20 minutes
//   on 2 cores), keeping bzImage and vmlinux.
// debian: Debian's stock linux-image-*-amd64, with the virtio and ext4 modules
//   it needs (resolved from its modules.dep) in the initramfs.
// --arch arm64 (the default on an arm64 host; debian only): the same from
//   Debian's arm64 packages (linux-image-arm64's Image, busybox-static:arm64),
//   fetched on any host after `dpkg --add-architecture arm64`.
// Both: an initramfs (uncompressed newc cpio, src/guest/initramfs.ts) with
// busybox from busybox-static and configs/init.sh as /init, and a 64 MiB ext4
// disk image with a README in it.
//
// Everything goes to ${XDG_CACHE_HOME:-~/.cache}/tsvmm/guest/<hash>/, where
// <hash> covers every input (the config fragment's values, patches, init script, this
// script's version, package versions); a folder that is there is reused. A
// built kernel is kept apart under guest/kernels/<hash>/ so a change to the
// init script does not rebuild it. Downloaded .debs are kept in guest/debs/.
// Needs the compiled TypeScript (npm run build).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync,
  renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Bump when this script changes what it builds: it is part of every cache key. */
export const BUILD_SCRIPT_VERSION = 1;

const REPO = fileURLToPath(new URL('..', import.meta.url));
const FRAGMENT = join(REPO, 'configs/linux-x86_64.config');
const PATCH_DIR = join(REPO, 'configs/patches');
const INIT_SCRIPT = join(REPO, 'configs/init.sh');

/** Size of disk.img: 64 MiB, room for a few files and ext4's journal. */
const DISK_SIZE = '64M';
const DISK_README = `This is tsvmm's guest disk: an ext4 file system on a virtio-blk device
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
const DEBIAN_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_net', 'crc32c_generic', 'ext4'];

/** Commands each build needs, with the Debian package that has them. */
const TOOLS = {
  common: { 'dpkg-deb': 'dpkg', 'apt-get': 'apt', 'mkfs.ext4': 'e2fsprogs', tar: 'tar', xz: 'xz-utils' },
  custom: { make: 'build-essential', gcc: 'build-essential', bc: 'bc', bison: 'bison', flex: 'flex', lz4: 'lz4', patch: 'patch', perl: 'perl' },
  debian: { depmod: 'kmod' },
};
/** Headers the kernel build needs (objtool links libelf), with their package. */
const HEADERS = { custom: { '/usr/include/libelf.h': 'libelf-dev' }, debian: {} };

export class GuestBuildError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'GuestBuildError';
  }
}

/** The pure parts, compiled from src/guest/ (npm run build). */
async function loadDist() {
  const dist = join(REPO, 'dist/src/guest');
  if (!existsSync(join(dist, 'initramfs.js'))) {
    process.stderr.write(`build-guest: the compiled TypeScript is missing (${dist}); run npm run build first\n`);
    process.exit(1);
  }
  const load = (f) => import(pathToFileURL(join(dist, f)).href);
  const [apt, exec, initramfs, kconfig, modules, progress] = await Promise.all(
    ['apt.js', 'exec.js', 'initramfs.js', 'kconfig.js', 'modules.js', 'progress.js'].map(load),
  );
  return { apt, exec, initramfs, kconfig, modules, progress };
}

const lib = await loadDist();
const { run, hasCommand, runLogged } = lib.exec;

// ---------------------------------------------------------------------------
// Host packages and apt

function ensureHostTools(variant, progress) {
  const wanted = { ...TOOLS.common, ...TOOLS[variant] };
  const missing = new Set();
  for (const [cmd, pkg] of Object.entries(wanted)) if (!hasCommand(cmd)) missing.add(pkg);
  for (const [file, pkg] of Object.entries(HEADERS[variant])) if (!existsSync(file)) missing.add(pkg);
  if (missing.size === 0) return;
  const pkgs = [...missing].sort();
  if (process.getuid?.() !== 0) {
    throw new GuestBuildError(`missing host packages: ${pkgs.join(' ')}; run: sudo apt-get install ${pkgs.join(' ')}`);
  }
  progress.stage(`installing host packages: ${pkgs.join(' ')} (apt-get install)`);
  if (!aptUpdated && spawnSync('apt-cache', ['show', pkgs[0]], { stdio: 'ignore' }).status !== 0) aptUpdate(progress);
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** Lets apt see another architecture's packages (dpkg --add-architecture + apt-get update), once. */
function ensureForeignArch(debArch, progress) {
  const have = spawnSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' }).stdout ?? '';
  if (have.split('\n').includes(debArch)) return;
  if (process.getuid?.() !== 0) throw new GuestBuildError(`apt does not know ${debArch} packages; run: sudo dpkg --add-architecture ${debArch} && sudo apt-get update`);
  progress.stage(`dpkg --add-architecture ${debArch} (to download its packages; nothing is installed)`);
  run('dpkg', ['--add-architecture', debArch]);
  aptUpdate(progress);
}

const NATIVE_DEB_ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
let aptUpdated = false;
function aptUpdate(progress) {
  progress.stage('apt-get update (apt does not know the packages yet)');
  run('apt-get', ['update', '-q']);
  aptUpdated = true;
}

/** The candidate versions of `names`, in one apt-cache call; runs apt-get update once if apt does not know them. */
function aptShow(names, progress) {
  const show = () => spawnSync('apt-cache', ['show', '--no-all-versions', ...names], { encoding: 'utf8' }).stdout ?? '';
  try {
    return lib.apt.parseAptShowAll(names, show(), NATIVE_DEB_ARCH);
  } catch (e) {
    if (aptUpdated || !(e instanceof lib.apt.AptPackageError)) throw e;
    aptUpdate(progress);
    return lib.apt.parseAptShowAll(names, show(), NATIVE_DEB_ARCH);
  }
}

/** Resolves the meta packages in `metas` (name -> dependency prefix) and the plain packages, in two apt-cache calls. */
function resolvePackages(plain, metas, progress, qualifier = '') {
  const first = aptShow([...plain, ...Object.keys(metas)], progress);
  const deps = Object.entries(metas).map(([meta, prefix]) => {
    const m = first.get(meta);
    const dep = m.depends.find((d) => d.startsWith(prefix));
    if (dep === undefined) throw new GuestBuildError(`${meta} ${m.version} depends on no ${prefix}* package`);
    return [meta, `${dep}${qualifier}`];
  });
  const second = deps.length > 0 ? aptShow(deps.map(([, d]) => d), progress) : new Map();
  const out = new Map(plain.map((p) => [p, first.get(p)]));
  for (const [meta, dep] of deps) out.set(meta, second.get(dep));
  return out;
}

/** Path of the package's .deb in the cache, downloading it if absent. */
function fetchDeb(pkg, debsDir, progress) {
  const file = join(debsDir, lib.apt.debFileName(pkg));
  if (existsSync(file)) return file;
  progress.stage(`downloading ${pkg.name} ${pkg.version}`);
  mkdirSync(debsDir, { recursive: true });
  const tmp = mkdtempSync(join(debsDir, 'dl.'));
  try {
    // As root, apt drops to its _apt user, which cannot write a root-owned folder.
    const sandbox = process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [];
    const qualified = pkg.architecture === 'all' ? pkg.name : `${pkg.name}:${pkg.architecture}`;
    run('apt-get', ['download', '-q', ...sandbox, `${qualified}=${pkg.version}`], { cwd: tmp });
    const got = join(tmp, lib.apt.debFileName(pkg));
    if (!existsSync(got)) throw new GuestBuildError(`apt-get download ${pkg.name}=${pkg.version} wrote no ${basename(got)}`);
    renameSync(got, file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return file;
}

// ---------------------------------------------------------------------------
// Helpers

function sha16(value) {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

export function cacheRoot() {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'tsvmm', 'guest');
}

function patches() {
  if (!existsSync(PATCH_DIR)) return [];
  return readdirSync(PATCH_DIR).filter((f) => f.endsWith('.patch')).sort().map((f) => ({ name: f, path: join(PATCH_DIR, f), text: readFileSync(join(PATCH_DIR, f), 'utf8') }));
}

/** Hard link, or copy where links cannot be made (another file system). */
function linkOrCopy(from, to) {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/** The manifest with its artefact file names made absolute paths in `dir`. */
function withPaths(dir, manifest) {
  const artefacts = Object.fromEntries(Object.entries(manifest.artefacts).map(([k, f]) => [k, f === null ? null : join(dir, f)]));
  return { ...manifest, artefacts };
}

function mib(path) {
  return `${(statSync(path).size / 1048576).toFixed(1)} MiB`;
}

// ---------------------------------------------------------------------------
// The kernel (custom variant)

async function buildKernel(srcPkg, kernelDir, { debsDir, jobs, progress }) {
  const work = `${kernelDir}.work`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const deb = fetchDeb(srcPkg, debsDir, progress);

  progress.stage(`extracting ${srcPkg.name} (a kernel source tarball inside the .deb)`);
  // The .deb holds /usr/src/linux-source-<ver>.tar.xz; unpack it straight from the pipe.
  run('bash', ['-o', 'pipefail', '-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - --wildcards "./usr/src/linux-source-*.tar.xz" | tar -xJf - -C "$2"', 'bash', deb, work]);
  const srcName = readdirSync(work).find((d) => d.startsWith('linux-source-'));
  if (srcName === undefined) throw new GuestBuildError(`${basename(deb)} held no usr/src/linux-source-*.tar.xz`);
  const src = join(work, srcName);
  const out = join(work, 'out');

  for (const p of patches()) {
    progress.stage(`patching: ${p.name}`);
    run('patch', ['-p1', '--forward', '--batch', '--dry-run', '-i', p.path], { cwd: src });
    run('patch', ['-p1', '--forward', '--batch', '-i', p.path], { cwd: src });
  }

  progress.stage(`configuring: allnoconfig + ${basename(FRAGMENT)} (merge_config.sh)`);
  mkdirSync(out);
  run(join(src, 'scripts/kconfig/merge_config.sh'), ['-n', '-O', out, FRAGMENT], { cwd: src });
  const wanted = lib.kconfig.parseKconfig(readFileSync(FRAGMENT, 'utf8'));
  const got = lib.kconfig.parseKconfig(readFileSync(join(out, '.config'), 'utf8'));
  const mismatches = lib.kconfig.kconfigMismatches(wanted, got);
  if (mismatches.length > 0) {
    throw new GuestBuildError(`the kernel config did not take these values from ${FRAGMENT} (a dependency is off, or the option does not exist in ${srcName}):\n${lib.kconfig.formatMismatches(mismatches)}`);
  }

  const logPath = join(work, 'build.log');
  progress.stage(`building the kernel: make -j${jobs} bzImage, 10 to 20 minutes on 2 cores (log: ${logPath})`);
  let compiled = 0;
  const env = {
    ...process.env,
    // The version string's user@host (scripts/mkcompile_h), instead of the
    // build machine's.
    KBUILD_BUILD_USER: 'tsvmm',
    KBUILD_BUILD_HOST: 'tsvmm',
  };
  await runLogged('nice', ['-n', '19', 'make', '-C', src, `O=${out}`, `-j${jobs}`, 'bzImage'], {
    cwd: src,
    env,
    logPath,
    onLine: (l) => {
      if (/^\s+CC\s/.test(l)) progress.update(`${++compiled} files compiled`);
    },
  });

  const tmp = `${kernelDir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  copyFileSync(join(out, 'arch/x86/boot/bzImage'), join(tmp, 'bzImage'));
  copyFileSync(join(out, 'vmlinux'), join(tmp, 'vmlinux'));
  copyFileSync(join(out, '.config'), join(tmp, 'config'));
  copyFileSync(logPath, join(tmp, 'build.log'));
  renameSync(tmp, kernelDir);
  // The source and object trees take well over a gigabyte.
  rmSync(work, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// The Debian kernel and its modules

function debianKernel(imageDeb, scratch, progress) {
  progress.stage(`extracting ${basename(imageDeb)} and resolving modules (depmod, modules.dep)`);
  const root = join(scratch, 'image');
  run('dpkg-deb', ['-x', imageDeb, root]);
  const kver = readdirSync(join(root, 'lib/modules'))[0];
  if (kver === undefined) throw new GuestBuildError(`${basename(imageDeb)} has no lib/modules/<version>`);
  const vmlinuz = join(root, 'boot', `vmlinuz-${kver}`);
  if (!existsSync(vmlinuz)) throw new GuestBuildError(`${basename(imageDeb)} has no boot/vmlinuz-${kver}`);
  // Debian generates modules.dep at install time (postinst), so the package has none: make it.
  const modDir = join(root, 'lib/modules', kver);
  run('depmod', ['-b', root, kver]);
  const dep = lib.modules.parseModulesDep(readFileSync(join(modDir, 'modules.dep'), 'utf8'));
  const builtinPath = join(modDir, 'modules.builtin');
  const builtin = existsSync(builtinPath) ? lib.modules.parseModulesBuiltin(readFileSync(builtinPath, 'utf8')) : new Set();
  const order = lib.modules.resolveModules(dep, DEBIAN_MODULES.filter((m) => !builtin.has(m)));
  const modules = order.map((m) => ({ name: m.name, data: readModule(join(modDir, m.path)) }));
  return { kver, vmlinuz, modules };
}

/** A module file's ELF bytes; busybox insmod loads plain .ko files only. */
function readModule(path) {
  const decompress = { '.xz': ['xz', '-dc'], '.zst': ['zstd', '-dc'], '.gz': ['gzip', '-dc'] };
  for (const [ext, [cmd, ...args]] of Object.entries(decompress)) {
    if (!path.endsWith(ext)) continue;
    const r = spawnSync(cmd, [...args, path], { maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new GuestBuildError(`${cmd} ${args.join(' ')} ${path} failed: ${r.error?.message ?? r.stderr}`);
    return new Uint8Array(r.stdout);
  }
  return new Uint8Array(readFileSync(path));
}

// ---------------------------------------------------------------------------
// The guest

/**
 * Builds the guest for `variant` unless its cache folder is there; returns
 * { dir, manifest, reused } either way. Options: force (rebuild), jobs
 * (make -j), progress (a Progress), beforeBuild (called when a build starts).
 */
export async function ensureGuest({ variant = 'custom', arch = 'x86_64', force = false, jobs = availableParallelism(), progress, beforeBuild } = {}) {
  if (variant !== 'custom' && variant !== 'debian') throw new GuestBuildError(`--kernel must be custom or debian, not ${JSON.stringify(variant)}`);
  if (arch !== 'x86_64' && arch !== 'arm64') throw new GuestBuildError(`--arch must be x86_64 or arm64, not ${JSON.stringify(arch)}`);
  if (arch === 'arm64' && variant !== 'debian') throw new GuestBuildError('the custom kernel is x86_64 only: use --kernel debian with --arch arm64');
  progress ??= new lib.progress.Progress(process.stderr);
  const root = cacheRoot();
  const debsDir = join(root, 'debs');
  const initScript = readFileSync(INIT_SCRIPT, 'utf8');
  // Debian architecture qualifier for apt: none for the host's own (amd64).
  const q = arch === 'arm64' ? ':arm64' : '';
  if (arch === 'arm64') ensureForeignArch('arm64', progress);

  const imageMeta = arch === 'arm64' ? 'linux-image-arm64' : 'linux-image-amd64';
  const meta = variant === 'custom' ? { 'linux-source': 'linux-source-' } : { [`${imageMeta}${q}`]: 'linux-image-' };
  const pkgs = resolvePackages([`busybox-static${q}`], meta, progress, q);
  const busyboxPkg = pkgs.get(`busybox-static${q}`);
  let kernelInputs;
  let srcPkg;
  let imagePkg;
  if (variant === 'custom') {
    srcPkg = pkgs.get('linux-source');
    kernelInputs = {
      v: BUILD_SCRIPT_VERSION,
      // The values it asks for, not its text: editing a comment rebuilds nothing.
      fragment: [...lib.kconfig.parseKconfig(readFileSync(FRAGMENT, 'utf8'))],
      patches: patches().map(({ name, text }) => ({ name, text })),
      source: { name: srcPkg.name, version: srcPkg.version },
    };
  } else {
    imagePkg = pkgs.get(`${imageMeta}${q}`);
    kernelInputs = { v: BUILD_SCRIPT_VERSION, image: { name: imagePkg.name, version: imagePkg.version }, modules: DEBIAN_MODULES };
  }
  const kernelKey = sha16(kernelInputs);
  const guestKey = sha16({
    v: BUILD_SCRIPT_VERSION,
    // Only non-default architectures are named, so x86_64 keys stay as they were.
    ...(arch === 'x86_64' ? {} : { arch }),
    variant,
    kernel: kernelKey,
    init: initScript,
    busybox: { name: busyboxPkg.name, version: busyboxPkg.version },
    disk: { size: DISK_SIZE, readme: DISK_README },
  });
  const dir = join(root, guestKey);
  const manifestPath = join(dir, 'manifest.json');
  if (!force && existsSync(manifestPath)) {
    const manifest = withPaths(dir, JSON.parse(readFileSync(manifestPath, 'utf8')));
    if (Object.values(manifest.artefacts).every((p) => p === null || existsSync(p))) return { dir, manifest, reused: true };
  }

  beforeBuild?.();
  ensureHostTools(variant, progress);
  mkdirSync(root, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const scratch = mkdtempSync(join(root, 'scratch.'));
  try {
    // Kernel.
    let modules = [];
    let kernelInfo;
    if (variant === 'custom') {
      const kernelDir = join(root, 'kernels', kernelKey);
      if (force || !existsSync(join(kernelDir, 'bzImage'))) {
        rmSync(kernelDir, { recursive: true, force: true });
        mkdirSync(dirname(kernelDir), { recursive: true });
        await buildKernel(srcPkg, kernelDir, { debsDir, jobs, progress });
      } else {
        progress.stage(`kernel: reusing ${kernelDir}`);
      }
      linkOrCopy(join(kernelDir, 'bzImage'), join(tmp, 'bzImage'));
      linkOrCopy(join(kernelDir, 'vmlinux'), join(tmp, 'vmlinux'));
      linkOrCopy(join(kernelDir, 'config'), join(tmp, 'config'));
      kernelInfo = { source: `${srcPkg.name} ${srcPkg.version}`, kernelDir };
    } else {
      const deb = fetchDeb(imagePkg, debsDir, progress);
      const k = debianKernel(deb, scratch, progress);
      copyFileSync(k.vmlinuz, join(tmp, arch === 'arm64' ? 'Image' : 'bzImage'));
      modules = k.modules;
      kernelInfo = { source: `${imagePkg.name} ${imagePkg.version}`, release: k.kver, modules: modules.map((m) => m.name) };
    }

    // Initramfs.
    const bbDeb = fetchDeb(busyboxPkg, debsDir, progress);
    progress.stage(`writing the initramfs (busybox ${busyboxPkg.version}${modules.length ? `, ${modules.length} modules` : ''})`);
    const bbRoot = join(scratch, 'busybox');
    run('dpkg-deb', ['-x', bbDeb, bbRoot]);
    const busybox = join(bbRoot, 'bin/busybox');
    // The applet list comes from running busybox --list-full; a foreign
    // architecture's binary cannot run here, so ask the host's build of the
    // same Debian package (same source and configuration, same applets).
    let lister = busybox;
    if (q !== '') {
      const hostPkg = resolvePackages(['busybox-static'], {}, progress).get('busybox-static');
      if (hostPkg.version !== busyboxPkg.version) throw new GuestBuildError(`busybox-static ${hostPkg.version} (host) and ${busyboxPkg.version} (${arch}) differ: cannot list the applets`);
      const hostRoot = join(scratch, 'busybox-host');
      run('dpkg-deb', ['-x', fetchDeb(hostPkg, debsDir, progress), hostRoot]);
      lister = join(hostRoot, 'bin/busybox');
    }
    const applets = run(lister, ['--list-full']).split('\n');
    const cpio = lib.initramfs.buildInitramfs({ busybox: new Uint8Array(readFileSync(busybox)), applets, initScript, modules });
    writeFileSync(join(tmp, 'initramfs.cpio'), cpio);

    // Disk.
    progress.stage(`making the disk: ${DISK_SIZE} ext4 with a README (mkfs.ext4 -d)`);
    const staging = join(scratch, 'disk');
    mkdirSync(staging);
    writeFileSync(join(staging, 'README'), DISK_README);
    run('mkfs.ext4', ['-F', '-q', '-L', 'tsvmm', '-E', 'root_owner=0:0', '-d', staging, join(tmp, 'disk.img'), DISK_SIZE]);

    // File names in the folder; withPaths() makes them absolute when read.
    const artefacts = {
      ...(arch === 'arm64' ? { Image: 'Image' } : { bzImage: 'bzImage' }),
      vmlinux: variant === 'custom' ? 'vmlinux' : null,
      initramfs: 'initramfs.cpio',
      disk: 'disk.img',
    };
    const manifest = {
      tsvmmGuest: BUILD_SCRIPT_VERSION,
      variant,
      arch,
      key: guestKey,
      kernel: kernelInfo,
      busybox: `${busyboxPkg.name} ${busyboxPkg.version}`,
      // The kernel command line tsvmm should add to its own (console=ttyS0 ...).
      append: 'rdinit=/init',
      artefacts,
      buildSeconds: progress.secs(),
      builtAt: new Date().toISOString(),
    };
    writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    progress.end();
    return { dir, manifest: withPaths(dir, manifest), reused: false };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function describeGuest({ dir, manifest, reused }) {
  const a = manifest.artefacts;
  const rows = [['kernel', a.bzImage ?? a.Image], ['vmlinux', a.vmlinux], ['initramfs', a.initramfs], ['disk', a.disk]].filter(([, p]) => p);
  const lines = [`guest (${manifest.arch ?? 'x86_64'} ${manifest.variant}: ${manifest.kernel.source}) ${reused ? 'already built' : `built in ${manifest.buildSeconds}s`}: ${dir}`];
  for (const [name, p] of rows) lines.push(`  ${name.padEnd(10)}${p} (${mib(p)})`);
  return lines.join('\n');
}

function parseArgs(argv) {
  const o = { variant: process.arch === 'arm64' ? 'debian' : 'custom', arch: process.arch === 'arm64' ? 'arm64' : 'x86_64', force: false, jobs: availableParallelism() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new GuestBuildError(`${a} needs a value`);
      return v;
    };
    if (a === '--kernel') o.variant = value();
    else if (a.startsWith('--kernel=')) o.variant = a.slice(9);
    else if (a === '--arch') o.arch = value();
    else if (a.startsWith('--arch=')) o.arch = a.slice(7);
    else if (a === '--force') o.force = true;
    else if (a === '--jobs' || a === '-j') o.jobs = Number(value());
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new GuestBuildError(`unknown option ${a} (try --help)`);
  }
  if (!Number.isInteger(o.jobs) || o.jobs < 1) throw new GuestBuildError('--jobs must be a positive integer');
  return o;
}

const USAGE = `Usage: npm run guest -- [--kernel custom|debian] [--arch x86_64|arm64] [--force] [--jobs N]
  --kernel custom   build Linux from Debian's linux-source with configs/linux-x86_64.config (default on x86_64)
  --kernel debian   use Debian's linux-image-*-amd64 (or -arm64) with its virtio and ext4 modules
  --arch arm64      an arm64 guest from Debian's arm64 packages (debian only; default on arm64 hosts)
  --force           rebuild even if the cache folder is there
  --jobs N          make -jN for the kernel (default: the number of cores; it runs under nice -n 19)
Artefacts go to ${cacheRoot()}/<hash>/.`;

async function main(argv) {
  const o = parseArgs(argv);
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const g = await ensureGuest(o);
  console.log(describeGuest(g));
  console.log(`boot it: npm start${o.variant === 'debian' ? ' -- --kernel debian' : ''}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`\nbuild-guest: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
