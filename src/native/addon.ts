// Loads the native addon (native/tsvmm.c). Its shape is declared once in
// native/index.d.ts; this module only locates the built binary.
import { createRequire } from 'node:module';
import type { Native, NativeError } from '../../native/index.js';

export type { Native, NativeError };

const require = createRequire(import.meta.url);

function load(): Native {
  try {
    return require('../../../native/build/Release/tsvmm.node') as Native;
  } catch (err) {
    throw new Error('the native addon is not built: run `npm ci` (needs a C compiler and Node headers)', { cause: err });
  }
}

export const native: Native = load();

/** True when `err` came from a failed system call with the given errno name. */
export function isErrno(err: unknown, code: string): err is NativeError {
  return err instanceof Error && (err as Partial<NativeError>).code === code;
}
