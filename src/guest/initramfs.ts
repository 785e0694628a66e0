// The default guest's initramfs: busybox, its applet links, /init, /dev/console
// and (for the Debian-kernel guest) kernel modules with their load order.
// Pure: takes bytes and lists, returns the entries or the newc archive.
import { writeNewc, type CpioEntry } from './cpio.js';
import { TsvmmError } from '../base/errors.js';

/** Where busybox lives in the guest; applet links point here. */
export const BUSYBOX_PATH = 'bin/busybox';

/** Applets configs/init.sh runs, as `busybox --list-full` names them (Debian 12). */
export const INIT_APPLETS = [
  'bin/sh',
  'bin/mount',
  'bin/umount',
  'bin/mkdir',
  'bin/cat',
  'bin/grep',
  'bin/hostname',
  'bin/sleep',
  'bin/sync',
  'bin/uname',
  'bin/cttyhack',
  'sbin/ip',
  'sbin/insmod',
  'sbin/reboot',
  'usr/bin/setsid',
] as const;

/**
 * /dev/console: the kernel opens it from the initramfs as stdin/stdout/stderr
 * of /init (init/main.c console_on_rootfs), before /init can mount devtmpfs.
 * Major 5, minor 1 (Documentation/admin-guide/devices.txt).
 */
export const DEV_CONSOLE = { path: 'dev/console', major: 5, minor: 1, mode: 0o600 } as const;

/** Directory that holds the modules; /etc/modules names files in it. */
export const MODULES_DIR = 'lib/modules';
/** The load-order list /init reads: one file name per line, dependencies first. */
export const MODULES_LIST = 'etc/modules';

/** Directories every guest has, with their modes. */
const BASE_DIRS: ReadonlyArray<readonly [string, number]> = [
  ['bin', 0o755],
  ['sbin', 0o755],
  ['usr', 0o755],
  ['usr/bin', 0o755],
  ['usr/sbin', 0o755],
  ['dev', 0o755],
  ['etc', 0o755],
  ['proc', 0o555],
  ['sys', 0o555],
  ['mnt', 0o755],
  ['root', 0o700],
  // Sticky and world-writable, like any /tmp.
  ['tmp', 0o1777],
];

/** Sets the prompt of the login shell (`sh -l` reads /etc/profile). */
const PROFILE = `export PS1='\\h:\\w\\$ '\n`;

export interface GuestModule {
  /** Module name ("virtio_pci"); stored as lib/modules/<name>.ko. */
  readonly name: string;
  /** The uncompressed .ko (busybox insmod reads plain ELF). */
  readonly data: Uint8Array;
}

export interface InitramfsInput {
  /** A static busybox binary. */
  readonly busybox: Uint8Array;
  /** `busybox --list-full` (paths such as "bin/ls"); each becomes a link to busybox. Must include INIT_APPLETS. */
  readonly applets: readonly string[];
  /** The text of /init (configs/init.sh). */
  readonly initScript: string;
  /** Modules to load at boot, already in load order; empty for a kernel with everything built in. */
  readonly modules?: readonly GuestModule[];
}

/** An applet /init needs is not in the busybox applet list. */
export class MissingAppletError extends TsvmmError {
  constructor(readonly applets: readonly string[]) {
    super(`busybox lacks applets that /init runs: ${applets.join(', ')}`);
  }
}

/** A module name that cannot be a file name in lib/modules. */
export class ModuleNameError extends TsvmmError {
  constructor(readonly module: string) {
    super(`module name ${JSON.stringify(module)} is not a plain file name`);
  }
}

const encoder = new TextEncoder();

/** All proper parent directories of a relative path: "a/b/c" -> ["a", "a/b"]. */
function parents(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** The archive's members, in an order the kernel can unpack (parents first). */
export function initramfsEntries(input: InitramfsInput): CpioEntry[] {
  const modules = input.modules ?? [];
  // Applets outside a directory are left out: busybox lists "linuxrc", the
  // entry point of the old initrd scheme, at the root; /init is ours.
  const applets = [...new Set(input.applets.map((a) => a.trim()).filter((a) => a.includes('/') && a !== BUSYBOX_PATH))].sort();
  const missing = INIT_APPLETS.filter((a) => !applets.includes(a));
  if (missing.length > 0) throw new MissingAppletError(missing);
  for (const m of modules) {
    if (!/^[A-Za-z0-9_-]+$/.test(m.name)) throw new ModuleNameError(m.name);
  }

  const dirModes = new Map<string, number>(BASE_DIRS);
  if (modules.length > 0) {
    dirModes.set('lib', 0o755);
    dirModes.set(MODULES_DIR, 0o755);
  }
  for (const a of applets) for (const p of parents(a)) if (!dirModes.has(p)) dirModes.set(p, 0o755);
  // Parents before children: sort by depth, then by name for a stable archive.
  const dirs = [...dirModes].sort(([a], [b]) => a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0));

  const entries: CpioEntry[] = dirs.map(([path, mode]) => ({ kind: 'dir', path, mode }));
  entries.push({ kind: 'chardev', ...DEV_CONSOLE });
  entries.push({ kind: 'file', path: BUSYBOX_PATH, mode: 0o755, data: input.busybox });
  for (const a of applets) entries.push({ kind: 'symlink', path: a, target: `/${BUSYBOX_PATH}` });
  entries.push({ kind: 'file', path: 'init', mode: 0o755, data: encoder.encode(input.initScript) });
  entries.push({ kind: 'file', path: 'etc/profile', mode: 0o644, data: encoder.encode(PROFILE) });
  if (modules.length > 0) {
    const list = modules.map((m) => `${m.name}.ko\n`).join('');
    entries.push({ kind: 'file', path: MODULES_LIST, mode: 0o644, data: encoder.encode(list) });
    for (const m of modules) entries.push({ kind: 'file', path: `${MODULES_DIR}/${m.name}.ko`, mode: 0o644, data: m.data });
  }
  return entries;
}

/** The initramfs as an uncompressed newc archive. */
export function buildInitramfs(input: InitramfsInput): Uint8Array {
  return writeNewc(initramfsEntries(input));
}
