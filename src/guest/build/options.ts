// `npm run guest` options: which guest to build, checked before anything
// runs. Pure; src/guest/build.ts acts on the result.
import { GUEST_VARIANTS, type GuestVariant } from '../start_args.js';
import { TsvmmError } from '../../base/errors.js';

export type { GuestVariant };

/** Guest architectures: the custom kernel is x86_64 only, the Debian one either. */
export type GuestArch = 'x86_64' | 'arm64';
export const GUEST_ARCHES: readonly GuestArch[] = ['x86_64', 'arm64'];

/** A bad option or an impossible combination, or a build step that found something wrong. */
export class GuestBuildError extends TsvmmError {}

/** The guest to build: a variant that exists on that architecture. */
export interface GuestTarget {
  readonly variant: GuestVariant;
  readonly arch: GuestArch;
}

/** Checks a variant and architecture given as text (from the command line or a script). */
export function checkTarget(variant: string, arch: string): GuestTarget {
  if (!(GUEST_VARIANTS as readonly string[]).includes(variant)) throw new GuestBuildError(`--kernel must be custom or debian, not ${JSON.stringify(variant)}`);
  if (!(GUEST_ARCHES as readonly string[]).includes(arch)) throw new GuestBuildError(`--arch must be x86_64 or arm64, not ${JSON.stringify(arch)}`);
  if (arch === 'arm64' && variant !== 'debian') throw new GuestBuildError('the custom kernel is x86_64 only: use --kernel debian with --arch arm64');
  return { variant: variant as GuestVariant, arch: arch as GuestArch };
}

export interface BuildArgs {
  /** As typed; checkTarget() checks it. */
  readonly variant: string;
  readonly arch: string;
  /** Rebuild even when the cache folder is there. */
  readonly force: boolean;
  /** make -jN for the kernel. */
  readonly jobs: number;
  readonly help: boolean;
}

/**
 * Parses `npm run guest -- [--kernel custom|debian] [--arch x86_64|arm64]
 * [--force] [--jobs N]`. The defaults follow the host: an arm64 host builds
 * the arm64 Debian guest, others the custom x86_64 one; `cores` is the
 * default for --jobs.
 */
export function parseBuildArgs(argv: readonly string[], hostArch: string, cores: number): BuildArgs {
  const arm = hostArch === 'arm64';
  let variant = arm ? 'debian' : 'custom';
  let arch = arm ? 'arm64' : 'x86_64';
  let force = false;
  let jobs = cores;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new GuestBuildError(`${a} needs a value`);
      return v;
    };
    if (a === '--kernel') variant = value();
    else if (a.startsWith('--kernel=')) variant = a.slice('--kernel='.length);
    else if (a === '--arch') arch = value();
    else if (a.startsWith('--arch=')) arch = a.slice('--arch='.length);
    else if (a === '--force') force = true;
    else if (a === '--jobs' || a === '-j') jobs = Number(value());
    else if (a === '-h' || a === '--help') help = true;
    else throw new GuestBuildError(`unknown option ${a} (try --help)`);
  }
  if (!Number.isInteger(jobs) || jobs < 1) throw new GuestBuildError('--jobs must be a positive integer');
  return { variant, arch, force, jobs, help };
}

/** The --help text; artefacts go to `cacheRoot`/<hash>/. */
export function usage(cacheRoot: string): string {
  return `Usage: npm run guest -- [--kernel custom|debian] [--arch x86_64|arm64] [--force] [--jobs N]
  --kernel custom   build Linux from Debian's linux-source with configs/linux-x86_64.config (default on x86_64)
  --kernel debian   use Debian's linux-image-*-amd64 (or -arm64) with its virtio and ext4 modules
  --arch arm64      an arm64 guest from Debian's arm64 packages (debian only; default on arm64 hosts)
  --force           rebuild even if the cache folder is there
  --jobs N          make -jN for the kernel (default: the number of cores; it runs under nice -n 19)
Artefacts go to ${cacheRoot}/<hash>/.`;
}
