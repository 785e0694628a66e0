#!/usr/bin/env node
// `npm start`: boots tsvmm's default guest with its disk, the console on this
// terminal (Ctrl-A x quits). Builds the guest first when it is not in the
// cache yet (scripts/build-guest.mjs: 10 to 20 minutes on 2 cores).
//
//   npm start -- [--kernel custom|debian] [--fresh-disk] [tsvmm options...]
//
// Any other option goes to bin/tsvmm as is (npm start -- --seccomp, -m 512M,
// --net tap). --append ARGS is added after the guest's own rdinit=/init; -k,
// -i or -d replace the kernel, initramfs or disk that would be used.
//
// The disk: the cache keeps the built disk.img pristine and the guest boots a
// working copy beside it, disk-rw.img, made on first use. What the guest
// writes to /mnt stays there from one npm start to the next; --fresh-disk
// starts again from a copy of disk.img.
import { spawn } from 'node:child_process';
import { constants, copyFileSync, existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeGuest, ensureGuest } from './build-guest.mjs';

const { parseStartArgs, tsvmmArgs } = await import('../dist/src/guest/start_args.js').catch((e) => {
  process.stderr.write(`start: the compiled TypeScript is missing (${e.message}); run npm run build first\n`);
  process.exit(1);
});

const TSVMM = fileURLToPath(new URL('../bin/tsvmm', import.meta.url));

async function main(argv) {
  const o = parseStartArgs(argv);
  // An arm64 host boots Debian's arm64 kernel (the custom build is x86_64 only).
  const arch = process.arch === 'arm64' ? 'arm64' : 'x86_64';
  if (arch === 'arm64') o.variant = 'debian';
  const guest = await ensureGuest({
    variant: o.variant,
    arch,
    beforeBuild: () =>
      process.stderr.write(
        `The ${o.variant} guest is not built yet: building it now from Debian's packages` +
          `${o.variant === 'custom' ? ' (the kernel takes 10 to 20 minutes on 2 cores)' : ''}.\n`,
      ),
  });
  if (!guest.reused) process.stderr.write(`${describeGuest(guest)}\n`);
  const a = guest.manifest.artefacts;
  const disk = join(guest.dir, 'disk-rw.img');
  const args = tsvmmArgs({ bzImage: a.bzImage ?? a.Image, initramfs: a.initramfs, disk, append: guest.manifest.append }, o.forward);
  if (args.includes(disk) && (o.freshDisk || !existsSync(disk))) {
    copyFileSync(a.disk, disk, constants.COPYFILE_FICLONE);
  }

  process.stderr.write(`booting: bin/tsvmm ${args.map((x) => (/[\s"']/.test(x) ? JSON.stringify(x) : x)).join(' ')}\n(Ctrl-A x quits)\n`);
  const child = spawn(process.execPath, [TSVMM, ...args], { stdio: 'inherit' });
  // The terminal's Ctrl-C reaches tsvmm too (same process group); tsvmm
  // decides what it means. Other signals sent to us are passed on.
  process.on('SIGINT', () => {});
  for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? 128 + (osConstants.signals[signal] ?? 0)));
    child.on('error', (e) => {
      process.stderr.write(`start: cannot run ${TSVMM}: ${e.message}\n`);
      resolve(1);
    });
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`\nstart: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
