// A small buffered writer on a raw fd, for the guest console's output on the
// vCPU thread (which must not wait on Node's event loop). A non-blocking fd
// that is full (EAGAIN) is waited on with poll(POLLOUT), so no output is lost
// and a slow terminal slows the guest instead. With a ConsoleLine, each
// flush holds its lock and records whether the output ended its line, so
// tsvmm's own lines to the same file start on a fresh line (line_state.ts).
import { native } from '../native/addon.js';
import { ERRNO, POLL } from '../native/linux.js';
import { LINE_END, type ConsoleLine } from './line_state.js';

export class FdWriter {
  private readonly buf: Uint8Array;
  private len = 0;
  private readonly pollfd = Buffer.alloc(8);
  /** Set when the fd is gone (EPIPE, EBADF): output is dropped from then on. */
  broken = false;

  constructor(
    private readonly fd: number,
    capacity = 4096,
    private readonly line?: ConsoleLine,
  ) {
    this.buf = new Uint8Array(capacity);
    this.pollfd.writeInt32LE(fd, 0);
    this.pollfd.writeInt16LE(POLL.OUT, 4);
  }

  put(byte: number): void {
    this.buf[this.len++] = byte;
    if (this.len === this.buf.length) this.flush();
  }

  get pending(): number {
    return this.len;
  }

  flush(): void {
    const line = this.line;
    if (line === undefined) {
      this.writeOut();
      return;
    }
    if (this.len === 0) return;
    const last = this.buf[this.len - 1];
    line.lock();
    try {
      this.writeOut();
      line.midLine = last !== LINE_END;
    } finally {
      line.unlock();
    }
  }

  private writeOut(): void {
    let off = 0;
    while (off < this.len && !this.broken) {
      let n: number;
      try {
        n = native.write(this.fd, this.buf.subarray(off, this.len));
      } catch {
        this.broken = true;
        break;
      }
      if (n === -ERRNO.EAGAIN) {
        native.poll(this.pollfd, -1);
        continue;
      }
      off += n;
    }
    this.len = 0;
  }
}
