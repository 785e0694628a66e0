// Progress lines for the guest build: one line per stage, stamped with the
// seconds since the build began. On a terminal the current stage's line is
// rewritten in place with live detail ("812 files compiled") and closed with
// the stage's own duration; elsewhere (a log file, CI) each stage is one
// plain line printed when it starts.

/** What Progress writes to: process.stderr, or a test's fake. */
export interface ProgressSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** ANSI: carriage return, then erase to the end of the line (ECMA-48 EL 0). */
const REWRITE = '\r\x1b[K';

export class Progress {
  private readonly t0: number;
  private readonly tty: boolean;
  private line = '';
  private stageStart = 0;

  constructor(
    private readonly out: ProgressSink,
    private readonly now: () => number = Date.now,
    private readonly label = 'guest',
  ) {
    this.t0 = now();
    this.tty = out.isTTY === true;
  }

  /** Whole seconds since the build (or `since`) began. */
  secs(since: number = this.t0): number {
    return Math.round((this.now() - since) / 1000);
  }

  /** Starts a stage: ends the current one and prints the new one's line. */
  stage(text: string): void {
    this.end();
    this.line = `[${this.label} +${this.secs()}s] ${text}`;
    this.stageStart = this.now();
    this.out.write(this.tty ? this.line : `${this.line}\n`);
  }

  /** Live detail for the current stage (terminal only). */
  update(detail: string): void {
    if (this.tty && this.line !== '') this.out.write(`${REWRITE}${this.line} ${detail}`);
  }

  /** Ends the current stage (on a terminal: closes its line with its duration). */
  end(): void {
    if (this.tty && this.line !== '') this.out.write(`${REWRITE}${this.line} (${this.secs(this.stageStart)}s)\n`);
    this.line = '';
  }
}
