// The library's errors: each carries the same one-line message the CLI
// prints (without its "tsvmm: " prefix).
import { TsvmmError } from '../base/errors.js';

export class VmError extends TsvmmError {}

/** The VM could not be built or started (a missing file, no KVM, a bad kernel...); `code` is the VMM's exit code. */
export class VmStartError extends VmError {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** A request the VM's state does not allow (pause a paused VM, anything after it stopped). */
export class VmStateError extends VmError {
  constructor(message: string) {
    super(message);
  }
}

/** The options given to createVm are not a VM tsvmm can build. */
export class VmOptionsError extends VmError {
  constructor(message: string) {
    super(message);
  }
}
