// Loads the native addon (native/tsvmm.c). Its shape is declared once in
// native/index.d.ts; this module only locates the built binary.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Native, NativeError } from '../../native/index.js';

export type { Native, NativeError };

const require = createRequire(import.meta.url);

// The arm64 cross-build (scripts/testhost-arm64/build-addon.sh) comes first on
// arm64: a repository shared with the arm64 test host has the x86-64 build in
// native/build/.
const ARM64_BUILD = fileURLToPath(new URL('../../../native/build-arm64/Release/tsvmm.node', import.meta.url));

function addonPath(): string {
  return process.arch === 'arm64' && existsSync(ARM64_BUILD) ? ARM64_BUILD : '../../../native/build/Release/tsvmm.node';
}

function load(): Native {
  try {
    return require(addonPath()) as Native;
  } catch (err) {
    throw new Error('the native addon is not built: run `npm ci` (needs a C compiler and Node headers)', { cause: err });
  }
}

export const native: Native = load();

/** True when `err` came from a failed system call with the given errno name. */
export function isErrno(err: unknown, code: string): err is NativeError {
  return err instanceof Error && (err as Partial<NativeError>).code === code;
}
