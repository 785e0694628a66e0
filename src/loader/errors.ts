// Errors raised while recognising and loading a guest kernel image.
//
// The kernel file is untrusted input (a user may point the VMM at anything), so
// every parse failure is one of these, with the offending value in the message.

/** The bytes are not a kernel image we can boot, or are malformed. */
export class KernelFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KernelFormatError';
  }
}

/** A parsed kernel does not fit into guest RAM where it has to go. */
export class KernelLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KernelLoadError';
  }
}

/** `0x1f1`-style formatting for messages. */
export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}
