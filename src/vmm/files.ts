// Reading the user's input files (kernel, initrd) with one clear error for
// each way that can fail.
import { readFileSync, statSync } from 'node:fs';
import { TsvmmError, errnoCode } from '../base/errors.js';

export class InputFileError extends TsvmmError {}

/** Reads a whole regular file of at most `maxBytes`; `what` names it in errors ("kernel", "initrd"). */
export function readInputFile(what: string, path: string, maxBytes: number): Uint8Array {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') throw new InputFileError(`${what} ${path}: no such file`, { cause: err });
    if (code === 'EACCES') throw new InputFileError(`${what} ${path}: permission denied`, { cause: err });
    throw new InputFileError(`${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (st.isDirectory()) throw new InputFileError(`${what} ${path}: is a directory, not a file`);
  if (!st.isFile()) throw new InputFileError(`${what} ${path}: not a regular file`);
  if (st.size === 0) throw new InputFileError(`${what} ${path}: the file is empty`);
  if (st.size > maxBytes) {
    throw new InputFileError(`${what} ${path}: ${st.size} bytes is larger than guest RAM can hold (${maxBytes} bytes)`);
  }
  try {
    return readFileSync(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EACCES') throw new InputFileError(`${what} ${path}: permission denied`, { cause: err });
    throw new InputFileError(`${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}
