#!/usr/bin/env node
// `npm run guest`: builds tsvmm's default guest from Debian's packages.
//
//   node scripts/build-guest.mjs [--kernel custom|debian] [--arch x86_64|arm64] [--force] [--jobs N]
//
// The build is src/guest/build.ts (and src/guest/build/: kernel, packages,
// initramfs, disk, cache keys); this entry runs its compiled form, so it
// needs `npm run build` first. scripts/start.mjs and run-arm64-tests.mjs
// import ensureGuest and describeGuest from here.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BUILD = new URL('../dist/src/guest/build.js', import.meta.url);
if (!existsSync(BUILD)) {
  process.stderr.write(`build-guest: the compiled TypeScript is missing (${fileURLToPath(BUILD)}); run npm run build first\n`);
  process.exit(1);
}
const guest = await import(BUILD.href);

export const { cacheRoot, describeGuest, ensureGuest, GuestBuildError } = guest;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await guest.main(process.argv.slice(2));
}
