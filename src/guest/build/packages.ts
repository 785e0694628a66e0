// Debian packages for the guest build: the host tools it runs (installed with
// apt-get when missing and we are root), the versions apt offers (apt-cache
// show), and the .deb files (apt-get download, kept in guest/debs/).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AptPackageError, debFileName, parseAptShowAll, type AptPackage } from '../apt.js';
import { hasCommand, run } from '../exec.js';
import type { Progress } from '../progress.js';
import { GuestBuildError, type GuestVariant } from './options.js';

/** Commands each build needs, with the Debian package that has them. */
export const HOST_TOOLS = {
  common: { 'dpkg-deb': 'dpkg', 'apt-get': 'apt', 'mkfs.ext4': 'e2fsprogs', tar: 'tar', xz: 'xz-utils' },
  custom: { make: 'build-essential', gcc: 'build-essential', bc: 'bc', bison: 'bison', flex: 'flex', lz4: 'lz4', patch: 'patch', perl: 'perl' },
  debian: { depmod: 'kmod' },
} as const satisfies Record<'common' | GuestVariant, Record<string, string>>;
/** Headers the kernel build needs (objtool links libelf), with their package. */
export const HOST_HEADERS = {
  custom: { '/usr/include/libelf.h': 'libelf-dev' },
  debian: {},
} as const satisfies Record<GuestVariant, Record<string, string>>;

/** Debian's name for this host's architecture. */
export const NATIVE_DEB_ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';

/** The packages to install for `variant`, sorted: those of the missing commands and header files. */
export function missingHostPackages(variant: GuestVariant, haveCommand: (cmd: string) => boolean, haveFile: (path: string) => boolean): string[] {
  const missing = new Set<string>();
  for (const [cmd, pkg] of Object.entries({ ...HOST_TOOLS.common, ...HOST_TOOLS[variant] })) if (!haveCommand(cmd)) missing.add(pkg);
  for (const [file, pkg] of Object.entries(HOST_HEADERS[variant])) if (!haveFile(file)) missing.add(pkg);
  return [...missing].sort();
}

/** The text `apt-cache show --no-all-versions NAMES...` prints (stubbed in tests). */
export type AptShow = (names: readonly string[]) => string;

const aptCacheShow: AptShow = (names) => spawnSync('apt-cache', ['show', '--no-all-versions', ...names], { encoding: 'utf8' }).stdout ?? '';

const isRoot = (): boolean => process.getuid?.() === 0;

/** apt as the build uses it: `apt-get update` at most once, and only when apt does not know a package. */
export class Apt {
  private updated = false;

  constructor(
    private readonly progress: Progress,
    private readonly show: AptShow = aptCacheShow,
    private readonly update: () => void = () => void run('apt-get', ['update', '-q']),
    private readonly nativeArch: string = NATIVE_DEB_ARCH,
  ) {}

  private aptUpdate(): void {
    this.progress.stage('apt-get update (apt does not know the packages yet)');
    this.update();
    this.updated = true;
  }

  /** Installs the host packages `variant` needs that are missing (as root; otherwise says what to run). */
  ensureHostTools(variant: GuestVariant): void {
    const pkgs = missingHostPackages(variant, hasCommand, existsSync);
    if (pkgs.length === 0) return;
    if (!isRoot()) throw new GuestBuildError(`missing host packages: ${pkgs.join(' ')}; run: sudo apt-get install ${pkgs.join(' ')}`);
    this.progress.stage(`installing host packages: ${pkgs.join(' ')} (apt-get install)`);
    if (!this.updated && spawnSync('apt-cache', ['show', pkgs[0]!], { stdio: 'ignore' }).status !== 0) this.aptUpdate();
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }

  /** Lets apt see another architecture's packages (dpkg --add-architecture + apt-get update), once. */
  ensureForeignArch(debArch: string): void {
    const have = spawnSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' }).stdout ?? '';
    if (have.split('\n').includes(debArch)) return;
    if (!isRoot()) throw new GuestBuildError(`apt does not know ${debArch} packages; run: sudo dpkg --add-architecture ${debArch} && sudo apt-get update`);
    this.progress.stage(`dpkg --add-architecture ${debArch} (to download its packages; nothing is installed)`);
    run('dpkg', ['--add-architecture', debArch]);
    this.aptUpdate();
  }

  /** The candidate versions of `names`, in one apt-cache call; runs apt-get update once if apt does not know them. */
  candidates(names: readonly string[]): Map<string, AptPackage> {
    try {
      return parseAptShowAll(names, this.show(names), this.nativeArch);
    } catch (e) {
      if (this.updated || !(e instanceof AptPackageError)) throw e;
      this.aptUpdate();
      return parseAptShowAll(names, this.show(names), this.nativeArch);
    }
  }

  /**
   * The `plain` packages and, for each meta package in `metas` (name -> the
   * prefix of the package it depends on), the package it points to, by the
   * names asked for; two apt-cache calls. `qualifier` (":arm64") is added to
   * the dependency's name.
   */
  resolve(plain: readonly string[], metas: Readonly<Record<string, string>>, qualifier = ''): Map<string, AptPackage> {
    const first = this.candidates([...plain, ...Object.keys(metas)]);
    const deps = Object.entries(metas).map(([meta, prefix]) => {
      const m = first.get(meta)!;
      const dep = m.depends.find((d) => d.startsWith(prefix));
      if (dep === undefined) throw new GuestBuildError(`${meta} ${m.version} depends on no ${prefix}* package`);
      return [meta, `${dep}${qualifier}`] as const;
    });
    const second = deps.length > 0 ? this.candidates(deps.map(([, d]) => d)) : new Map<string, AptPackage>();
    const out = new Map(plain.map((p) => [p, first.get(p)!] as const));
    for (const [meta, dep] of deps) out.set(meta, second.get(dep)!);
    return out;
  }

  /** Path of the package's .deb in `debsDir`, downloading it if absent. */
  fetchDeb(pkg: AptPackage, debsDir: string): string {
    const file = join(debsDir, debFileName(pkg));
    if (existsSync(file)) return file;
    this.progress.stage(`downloading ${pkg.name} ${pkg.version}`);
    mkdirSync(debsDir, { recursive: true });
    const tmp = mkdtempSync(join(debsDir, 'dl.'));
    try {
      // As root, apt drops to its _apt user, which cannot write a root-owned folder.
      const sandbox = isRoot() ? ['-o', 'APT::Sandbox::User=root'] : [];
      const qualified = pkg.architecture === 'all' ? pkg.name : `${pkg.name}:${pkg.architecture}`;
      run('apt-get', ['download', '-q', ...sandbox, `${qualified}=${pkg.version}`], { cwd: tmp });
      const got = join(tmp, debFileName(pkg));
      if (!existsSync(got)) throw new GuestBuildError(`apt-get download ${pkg.name}=${pkg.version} wrote no ${basename(got)}`);
      renameSync(got, file);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return file;
  }
}
