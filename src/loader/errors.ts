// Errors raised while recognising and loading a guest kernel image.
//
// The kernel file is untrusted input (a user may point the VMM at anything), so
// every parse failure is one of these, with the offending value in the message.
import { TsvmmError } from '../base/errors.js';
import { hex } from '../base/format.js';

/** The bytes are not a kernel image we can boot, or are malformed. */
export class KernelFormatError extends TsvmmError {}

/** A parsed kernel does not fit into guest RAM where it has to go. */
export class KernelLoadError extends TsvmmError {}

/** `0x1f1`-style formatting for messages. */

export { hex };
