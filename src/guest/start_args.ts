// `npm start` arguments: which guest to boot, and the bin/tsvmm command line
// for it. Pure; scripts/start.mjs acts on the result.

export type GuestVariant = 'custom' | 'debian';
export const GUEST_VARIANTS: readonly GuestVariant[] = ['custom', 'debian'];

export interface StartOptions {
  readonly variant: GuestVariant;
  /** Start from a fresh copy of the pristine disk image. */
  readonly freshDisk: boolean;
  /** Everything else, for bin/tsvmm as given. */
  readonly forward: readonly string[];
}

function isVariant(v: string | undefined): v is GuestVariant {
  return (GUEST_VARIANTS as readonly (string | undefined)[]).includes(v);
}

/**
 * Our options are `--kernel custom|debian` and `--fresh-disk`. tsvmm's own
 * `-k/--kernel FILE` takes a file name, so `--kernel` followed by anything but
 * those two words is forwarded.
 */
export function parseStartArgs(argv: readonly string[]): StartOptions {
  let variant: GuestVariant = 'custom';
  let freshDisk = false;
  const forward: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a === '--kernel' && isVariant(next)) {
      variant = next;
      i++;
    } else if (a.startsWith('--kernel=') && isVariant(a.slice('--kernel='.length))) {
      variant = a.slice('--kernel='.length) as GuestVariant;
    } else if (a === '--fresh-disk') {
      freshDisk = true;
    } else {
      forward.push(a);
    }
  }
  return { variant, freshDisk, forward };
}

/** Whether `args` set one of `flags`, as "-x v", "--xx v" or "--xx=v". */
export function hasFlag(args: readonly string[], flags: readonly string[]): boolean {
  return args.some((a) => flags.includes(a) || flags.some((f) => f.startsWith('--') && a.startsWith(`${f}=`)));
}

/** `args` with `prefix` put in front of the kernel command line they give (--append/--cmdline), or with --append prefix added. */
export function withAppend(args: readonly string[], prefix: string): string[] {
  const out = [...args];
  for (let i = 0; i < out.length; i++) {
    const a = out[i]!;
    const value = out[i + 1];
    if ((a === '--append' || a === '--cmdline') && value !== undefined) {
      out[i + 1] = `${prefix} ${value}`;
      return out;
    }
    for (const f of ['--append=', '--cmdline=']) {
      if (a.startsWith(f)) {
        out[i] = `${f}${prefix} ${a.slice(f.length)}`;
        return out;
      }
    }
  }
  return ['--append', prefix, ...out];
}

export interface GuestFiles {
  readonly bzImage: string;
  readonly initramfs: string;
  /** The disk to boot (the working copy). */
  readonly disk: string;
  /** Kernel arguments the guest needs on top of tsvmm's own. */
  readonly append: string;
}

/** bin/tsvmm's arguments: the guest's files unless the user gave their own, then the forwarded options. */
export function tsvmmArgs(guest: GuestFiles, forward: readonly string[]): string[] {
  const args: string[] = [];
  if (!hasFlag(forward, ['-k', '--kernel'])) args.push('-k', guest.bzImage);
  if (!hasFlag(forward, ['-i', '--initrd'])) args.push('-i', guest.initramfs);
  if (!hasFlag(forward, ['-d', '--disk'])) args.push('-d', guest.disk);
  return [...args, ...withAppend(forward, guest.append)];
}
