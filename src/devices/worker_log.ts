// Log lines from a worker thread (a device's queue worker, a vCPU thread) to
// the thread that writes them out (the VMM's main thread). postMessage never
// blocks, so when that writer is slow (a terminal that cannot keep up, a
// stopped pager) a chatty worker would pile up an unbounded backlog of
// messages. Instead the two ends share two words: the lines posted but not
// yet written, and the lines dropped. While MAX_IN_FLIGHT lines wait, further
// ones are counted, not posted; the count comes out as one "(N lines
// dropped)" line where they would have been: posted by the worker before its
// next line, or written by the writer once it has caught up, whichever comes
// first (an atomic exchange hands the count to exactly one of them).
import { ShapeLimiter } from './virtio/rate_log.js';

/** Words of the shared buffer. */
export const LOG_WORD = { IN_FLIGHT: 0, DROPPED: 1 } as const;
const LOG_WORDS = 2;
/** Lines a worker may have waiting; the writer's backlog is at most this plus one note. */
export const MAX_IN_FLIGHT = 64;

export function createLogWords(): SharedArrayBuffer {
  return new SharedArrayBuffer(4 * LOG_WORDS);
}

export function droppedNote(n: number): string {
  return `(${n} line${n === 1 ? '' : 's'} dropped: the log could not keep up)`;
}

/** The worker's end. */
export class LogSender {
  private readonly w: Int32Array;

  constructor(
    words: SharedArrayBuffer,
    private readonly post: (line: string) => void,
    private readonly limit = MAX_IN_FLIGHT,
  ) {
    this.w = new Int32Array(words);
  }

  send(line: string): void {
    const w = this.w;
    if (Atomics.load(w, LOG_WORD.IN_FLIGHT) >= this.limit) {
      Atomics.add(w, LOG_WORD.DROPPED, 1);
      // The writer looks for a count only when it empties the queue; if that
      // happened just now, before our add, nobody else would report it.
      if (Atomics.load(w, LOG_WORD.IN_FLIGHT) === 0) this.flushDropped();
      return;
    }
    this.flushDropped();
    Atomics.add(w, LOG_WORD.IN_FLIGHT, 1);
    this.post(line);
  }

  private flushDropped(): void {
    const n = Atomics.exchange(this.w, LOG_WORD.DROPPED, 0);
    if (n === 0) return;
    Atomics.add(this.w, LOG_WORD.IN_FLIGHT, 1);
    this.post(droppedNote(n));
  }
}

/** The writer's end, one per worker. */
export class LogReceiver {
  private readonly w: Int32Array;

  constructor(words: SharedArrayBuffer) {
    this.w = new Int32Array(words);
  }

  /** Call once a line from the worker is written; returns a "(N lines dropped)" line to write next, if any. */
  written(): string | undefined {
    if (Atomics.sub(this.w, LOG_WORD.IN_FLIGHT, 1) !== 1) return undefined;
    const n = Atomics.exchange(this.w, LOG_WORD.DROPPED, 0);
    return n > 0 ? droppedNote(n) : undefined;
  }
}

/**
 * A worker thread's log function: every line rate-limited by its shape for
 * the thread's life (a guest drives what these threads log), then sent over
 * the bounded channel `words` with `post`.
 */
export function createWorkerLog(words: SharedArrayBuffer, post: (line: string) => void): (line: string) => void {
  const sender = new LogSender(words, post);
  const limiter = new ShapeLimiter((line) => sender.send(line));
  return (line) => limiter.line(line);
}
