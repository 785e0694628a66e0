// How the VMM talks to whoever started it: the CLI's supervisor, the
// library API's parent process, or a test.
import type { Readable } from 'node:stream';

/** How the VMM talks to whoever started it (the supervisor, the library, a test). */
export interface VmmHost {
  /** One line for the user (stderr). */
  log(line: string): void;
  /** The guest is about to run: the terminal may go raw now. */
  guestStarting(): void;
  /** Bytes for the guest's console. */
  readonly consoleInput: Readable;
  /** A person types into consoleInput: handle Ctrl-A escapes. */
  readonly consoleEscapes: boolean;
  /** Where the guest's console output goes (written from the vCPU thread). */
  readonly consoleOutFd: number;
  /**
   * When `log` writes to the same file as the console: the ConsoleLine
   * (console/line_state.ts) it writes under, which the console writer then
   * shares, so a line never starts in the middle of the guest's.
   */
  readonly consoleLine?: SharedArrayBuffer;
}
