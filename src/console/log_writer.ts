// tsvmm's own lines ("tsvmm: ..."), written by the VMM process straight to
// where they go (the user's stderr, or the --log file), synchronously, with
// the addon's write (a full non-blocking fd is waited on with poll). When
// that is the file the guest's console goes to as well (one terminal for
// both, or `2>&1`), each line is written under the console's ConsoleLine
// lock and starts with a line break if the guest's output stopped mid-line
// (line_state.ts). On a terminal, lines end in "\r\n": it may be in raw mode.
import { native } from '../native/addon.js';
import { ERRNO, POLL } from '../native/linux.js';
import type { ConsoleLine } from './line_state.js';

export interface LogWriterOptions {
  readonly fd: number;
  /** End lines with "\r\n" (a terminal, possibly raw). */
  readonly crlf: boolean;
  /** The console's cursor state, when the console goes to this same file. */
  readonly console?: ConsoleLine;
}

export class LogWriter {
  private readonly pollfd = Buffer.alloc(8);
  /** Set when the fd is gone (EPIPE, EBADF): lines are dropped from then on. */
  broken = false;

  constructor(private readonly o: LogWriterOptions) {
    this.pollfd.writeInt32LE(o.fd, 0);
    this.pollfd.writeInt16LE(POLL.OUT, 4);
  }

  /** Writes "tsvmm: <line>" as a whole line (or lines, if it holds line breaks). */
  write(line: string): void {
    const eol = this.o.crlf ? '\r\n' : '\n';
    const text = `tsvmm: ${line}\n`.replace(/\r?\n/g, eol);
    const console = this.o.console;
    if (console === undefined) {
      this.writeAll(Buffer.from(text));
      return;
    }
    console.lock();
    try {
      this.writeAll(Buffer.from(console.midLine ? eol + text : text));
      console.midLine = false;
    } finally {
      console.unlock();
    }
  }

  private writeAll(bytes: Buffer): void {
    let off = 0;
    while (off < bytes.length && !this.broken) {
      let n: number;
      try {
        n = native.write(this.o.fd, bytes.subarray(off));
      } catch {
        this.broken = true;
        return;
      }
      if (n === -ERRNO.EAGAIN) native.poll(this.pollfd, -1);
      else off += n;
    }
  }
}
