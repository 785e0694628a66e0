// The guest's initramfs: busybox from Debian's busybox-static with a link
// per applet, configs/init.sh as /init and the kernel's modules, written as
// an uncompressed newc cpio by ../initramfs.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AptPackage } from '../apt.js';
import { run } from '../exec.js';
import { buildInitramfs, type GuestModule } from '../initramfs.js';
import type { Progress } from '../progress.js';
import { GuestBuildError } from './options.js';
import type { Apt } from './packages.js';

export interface InitramfsBuild {
  /** busybox-static for the guest's architecture. */
  readonly busybox: AptPackage;
  /** Whether that is another architecture than the host's (its busybox cannot run here). */
  readonly foreign: boolean;
  readonly initScript: string;
  readonly modules: readonly GuestModule[];
  readonly apt: Apt;
  readonly debsDir: string;
  /** A folder for unpacked packages, removed by the caller. */
  readonly scratch: string;
  readonly progress: Progress;
}

/**
 * The path of a busybox of the same package version that runs on this host,
 * to ask for the applet list: a foreign architecture's binary cannot run
 * here, so take the host's build of the same Debian package (same source and
 * configuration, same applets).
 */
function hostBusybox(b: InitramfsBuild): string {
  const hostPkg = b.apt.resolve(['busybox-static'], {}).get('busybox-static')!;
  if (hostPkg.version !== b.busybox.version) {
    throw new GuestBuildError(`busybox-static ${hostPkg.version} (host) and ${b.busybox.version} (${b.busybox.architecture}) differ: cannot list the applets`);
  }
  const hostRoot = join(b.scratch, 'busybox-host');
  run('dpkg-deb', ['-x', b.apt.fetchDeb(hostPkg, b.debsDir), hostRoot]);
  return join(hostRoot, 'bin/busybox');
}

/** Writes the initramfs to `path`. */
export function writeGuestInitramfs(path: string, b: InitramfsBuild): void {
  const bbDeb = b.apt.fetchDeb(b.busybox, b.debsDir);
  b.progress.stage(`writing the initramfs (busybox ${b.busybox.version}${b.modules.length ? `, ${b.modules.length} modules` : ''})`);
  const bbRoot = join(b.scratch, 'busybox');
  run('dpkg-deb', ['-x', bbDeb, bbRoot]);
  const busybox = join(bbRoot, 'bin/busybox');
  const lister = b.foreign ? hostBusybox(b) : busybox;
  const applets = run(lister, ['--list-full']).split('\n');
  const cpio = buildInitramfs({ busybox: new Uint8Array(readFileSync(busybox)), applets, initScript: b.initScript, modules: b.modules });
  writeFileSync(path, cpio);
}
