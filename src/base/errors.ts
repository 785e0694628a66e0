// The base of tsvmm's own errors. Each names what failed and the value (one
// line, the message the CLI prints), may chain its cause, and is told apart
// by its class (`instanceof`) and its name, which is the class's own.
export class TsvmmError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The errno name ("ENOENT") of a failed system call, from Node (fs, net) or the addon; undefined for any other error. */
export function errnoCode(err: unknown): string | undefined {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** True when `err` is a failed system call with the errno name `code`. */
export function isErrno(err: unknown, code: string): boolean {
  return errnoCode(err) === code;
}
