// Where the console's cursor is, shared by everything that writes to the
// file the console goes to: the guest's output (written by the vCPU thread,
// fd_writer.ts) and tsvmm's own lines when they go to that same file (written
// by the VMM's main thread, log_writer.ts). Two words in a SharedArrayBuffer:
// a lock, held across each write, and whether the last byte written left the
// cursor in the middle of a line. A tsvmm line taken under the lock starts
// with a line break exactly when the guest's last byte did not end its line,
// and no guest byte can come between that check and the end of the tsvmm
// line: it always starts on a fresh line and is never split.
//
// The lock is a three-state futex mutex (0 free, 1 held, 2 held with
// waiters; U. Drepper, "Futexes Are Tricky", mutex2): an uncontended
// lock/unlock pair, the vCPU thread's case after every exit with output, is
// two atomic operations and no system call.

const WORD = { LOCK: 0, MID_LINE: 1 } as const;
const WORDS = 2;
const FREE = 0;
const HELD = 1;
const CONTENDED = 2;

export class ConsoleLine {
  readonly buffer: SharedArrayBuffer;
  private readonly w: Int32Array;

  /** A new state (cursor at the start of a line), or one another thread created. */
  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(4 * WORDS)) {
    this.buffer = buffer;
    this.w = new Int32Array(buffer);
  }

  lock(): void {
    const w = this.w;
    let c = Atomics.compareExchange(w, WORD.LOCK, FREE, HELD);
    while (c !== FREE) {
      if (c === CONTENDED || Atomics.compareExchange(w, WORD.LOCK, HELD, CONTENDED) !== FREE) Atomics.wait(w, WORD.LOCK, CONTENDED);
      c = Atomics.compareExchange(w, WORD.LOCK, FREE, CONTENDED);
    }
  }

  unlock(): void {
    if (Atomics.sub(this.w, WORD.LOCK, 1) !== HELD) {
      Atomics.store(this.w, WORD.LOCK, FREE);
      Atomics.notify(this.w, WORD.LOCK, 1);
    }
  }

  /** The last byte written was not a line end (read and set under the lock). */
  get midLine(): boolean {
    return Atomics.load(this.w, WORD.MID_LINE) !== 0;
  }

  set midLine(value: boolean) {
    Atomics.store(this.w, WORD.MID_LINE, value ? 1 : 0);
  }
}

/** The byte that ends a line ('\n'; '\r' only moves the cursor back). */
export const LINE_END = 0x0a;
