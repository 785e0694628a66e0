// Log lines a guest can trigger at will (malformed requests, failed I/O,
// dropped frames, a device reset loop) go through these, so a hostile or
// broken guest cannot flood the host's log: the 1st..8th occurrence is
// logged, then every power of two.
//
// RateLog counts one kind of event at one call site. ShapeLimiter sits on a
// whole thread's log (a device worker's, the vCPU thread's) for the life of
// the VM and counts lines by their shape, so lines whose own limits start
// again (a queue handler rebuilt at every DRIVER_OK) stay bounded too.

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

/** A line with its numbers (decimal, or hex with 0x) masked: "sector 12 of 64" and "sector 99 of 64" have one shape. */
export function lineShape(line: string): string {
  return line.replace(/0x[0-9a-f]+|\d+/gi, '#');
}

/** Shapes a ShapeLimiter counts apart; lines of further shapes share one count. */
export const MAX_SHAPES = 64;
const OTHER_SHAPES = '\0other';

/** Rate-limits every line by its shape (see the header): worthLogging per shape, with the count past the 8th. */
export class ShapeLimiter {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly log: (line: string) => void,
    private readonly maxShapes = MAX_SHAPES,
  ) {}

  line(text: string): void {
    let shape = lineShape(text);
    if (!this.counts.has(shape) && this.counts.size >= this.maxShapes) shape = OTHER_SHAPES;
    const n = (this.counts.get(shape) ?? 0) + 1;
    this.counts.set(shape, n);
    if (worthLogging(n)) this.log(n > 8 ? `${text} (${n} like this so far)` : text);
  }
}
