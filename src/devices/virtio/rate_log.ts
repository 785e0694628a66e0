// Log lines a guest can trigger at will (malformed requests, failed I/O,
// dropped frames) go through this, so a hostile or broken guest cannot flood
// the host's log: the 1st..8th occurrence is logged, then every power of two.

export function worthLogging(count: number): boolean {
  return count <= 8 || (count & (count - 1)) === 0;
}

/** Counts occurrences of one kind of event and says which ones to log. */
export class RateLog {
  count = 0;

  constructor(private readonly log: (line: string) => void) {}

  /** Logs `line` (with the running count once past the first few) if this occurrence is worth it. */
  event(line: string): void {
    const n = ++this.count;
    if (worthLogging(n)) this.log(n > 8 ? `${line} (${n} so far)` : line);
  }
}
