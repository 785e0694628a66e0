// Console input: bytes from the user (a terminal in raw mode, a pipe, the
// library's console stream) -> the escape handling (Ctrl-A x, Ctrl-A b, ...)
// when it is a person at a terminal -> the shared ring the UART reads on the
// vCPU side. Writing 1 to `kick` (an irqfd on the UART's interrupt line)
// wakes an idle guest whose UART wants RX interrupts.
import type { Readable } from 'node:stream';
import { signalEventfd } from '../native/eventfd.js';
import { BREAK, ConsoleEscape, ESCAPE_HELP } from './escape.js';
import type { SharedRing } from './shared_ring.js';

/** Words of the console flags SharedArrayBuffer (written by the vCPU side). */
export const CONSOLE_FLAG = { RX_IRQ_ENABLED: 0 } as const;
export const CONSOLE_FLAG_WORDS = 1;

/** Input waiting beyond the ring, in bytes, before the source is paused. */
const BACKLOG_LIMIT = 65536;
/** How soon to retry when the ring is full (the guest reads it at its pace). */
const RETRY_MS = 5;

export interface ConsoleInputOptions {
  readonly source: Readable;
  readonly ring: SharedRing;
  readonly flags: Int32Array;
  /** eventfd bound to the UART's interrupt line. */
  readonly kick: number;
  /** Handle Ctrl-A escapes (a person at a terminal); false passes every byte through. */
  readonly escapes: boolean;
  /** Ctrl-A x. */
  readonly quit: () => void;
  /** One line for the user (Ctrl-A h). */
  readonly log: (line: string) => void;
}

export class ConsoleInput {
  private readonly escape = new ConsoleEscape();
  private readonly out: number[] = [];
  private backlog: number[] = [];
  private readonly onData = (chunk: Buffer): void => this.feed(chunk);

  constructor(private readonly o: ConsoleInputOptions) {
    o.source.on('data', this.onData);
    // The source went away (a closed terminal): the guest runs on without input.
    o.source.on('error', () => undefined);
  }

  /** Stops reading the source (the VM is ending). */
  stop(): void {
    this.o.source.off('data', this.onData);
    this.o.source.pause();
  }

  private feed(chunk: Buffer): void {
    const out = this.out;
    out.length = 0;
    let action: ReturnType<ConsoleEscape['feed']> = null;
    if (this.o.escapes) action = this.escape.feed(chunk, out);
    else for (const b of chunk) out.push(b);
    if (out.length > 0) {
      const wasEmpty = this.backlog.length === 0;
      this.backlog.push(...out);
      if (wasEmpty) this.drain();
      if (this.backlog.length > BACKLOG_LIMIT) this.o.source.pause();
    }
    if (action === 'quit') this.o.quit();
    else if (action === 'help') this.o.log(ESCAPE_HELP);
  }

  /** Moves the backlog into the ring; a BREAK waits until the previous one was read. */
  private drain = (): void => {
    const { ring, flags, kick, source } = this.o;
    let moved = false;
    while (this.backlog.length > 0) {
      if (this.backlog[0] === BREAK) {
        if (!ring.pushBreak()) break; // the last BREAK is still unread: retry
        this.backlog = this.backlog.slice(1);
        moved = true;
        continue;
      }
      const end = this.backlog.indexOf(BREAK);
      const n = ring.push(end < 0 ? this.backlog : this.backlog.slice(0, end));
      this.backlog = this.backlog.slice(n);
      moved ||= n > 0;
      if (n === 0 || (end >= 0 && n < end)) break; // the ring is full
    }
    if (moved && Atomics.load(flags, CONSOLE_FLAG.RX_IRQ_ENABLED) !== 0) signalEventfd(kick);
    if (this.backlog.length > 0) setTimeout(this.drain, RETRY_MS);
    else if (source.isPaused()) source.resume();
  };
}
