// The console escape: Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A b
// sends a BREAK (QEMU's and minicom's key: the guest's Magic SysRq prefix),
// Ctrl-A h prints help; any other byte after Ctrl-A goes to the guest together
// with the Ctrl-A. A pure state machine so it is testable without a terminal.

export const CTRL_A = 0x01;
/** Stands for a BREAK in the output of ConsoleEscape.feed (not a byte). */
export const BREAK = -1;

export type EscapeAction = 'quit' | 'help' | null;

export class ConsoleEscape {
  private pending = false;

  /**
   * Feeds host input. Bytes for the guest (and BREAK markers) are appended to
   * `out` (which the caller reuses); returns an action when an escape
   * sequence completed.
   */
  feed(input: Uint8Array, out: number[]): EscapeAction {
    for (let i = 0; i < input.length; i++) {
      const b = input[i]!;
      if (this.pending) {
        this.pending = false;
        if (b === 0x78 /* x */ || b === 0x58 /* X */) return 'quit';
        if (b === 0x68 /* h */) return 'help';
        if (b === 0x62 /* b */ || b === 0x42 /* B */) {
          out.push(BREAK);
          continue;
        }
        if (b === CTRL_A) {
          out.push(CTRL_A);
        } else {
          out.push(CTRL_A, b);
        }
      } else if (b === CTRL_A) {
        this.pending = true;
      } else {
        out.push(b);
      }
    }
    return null;
  }
}

export const ESCAPE_HELP = 'tsvmm console: Ctrl-A x quit, Ctrl-A b send a break (then a SysRq key), Ctrl-A Ctrl-A send Ctrl-A, Ctrl-A h this help';
