// Loads the native addon (native/tsvmm.c). Its shape is declared once in
// native/index.d.ts; this module only locates the binary, through
// node-gyp-build from the package root (three levels above dist/src/native/):
//   1. build/Release/*.node: the source build (`npm ci` in a clone, or an
//      install where no prebuild fits);
//   2. prebuilds/linux-<arch>/node.napi.glibc.node: the prebuilt addons the
//      package ships (scripts/prebuild.sh, run by `npm pack`).
// PREBUILDS_ONLY=1 skips 1: the arm64 test host sets it, because the checkout
// it shares holds this machine's x86-64 build/Release.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Native, NativeError } from '../../native/index.js';
import { isErrno as errnoIs } from '../base/errors.js';

export type { Native, NativeError };

const require = createRequire(import.meta.url);
const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function load(): Native {
  try {
    return nodeGypBuild(PACKAGE_ROOT) as Native;
  } catch (err) {
    const why = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
    throw new Error(`cannot load the native addon (${why}): run \`npm rebuild tsvmm\`, or \`npm ci\` in a clone (needs a C compiler)`, {
      cause: err,
    });
  }
}

export const native: Native = load();

/** True when `err` came from a failed system call with the given errno name. */
export function isErrno(err: unknown, code: string): err is NativeError {
  return errnoIs(err, code);
}
