// A single-producer, single-consumer byte ring in a SharedArrayBuffer: the
// main thread (terminal input) produces, the vCPU thread (the UART) consumes.
// head and tail only grow (mod 2^32); Atomics order the data and the indices.

const HEAD = 0; // next byte to read (consumer-owned)
const TAIL = 1; // next byte to write (producer-owned)
const BREAK_PENDING = 2; // 1 while a BREAK waits at position BREAK_AT (producer sets, consumer clears)
const BREAK_AT = 3; // the TAIL value when the BREAK was sent: it comes before that byte
const HEADER_BYTES = 16;

export class SharedRing {
  readonly buffer: SharedArrayBuffer;
  private readonly idx: Int32Array;
  private readonly data: Uint8Array;
  private readonly mask: number;

  /** `capacity` must be a power of two. Pass `buffer` to attach to an existing ring. */
  constructor(capacity: number, buffer?: SharedArrayBuffer) {
    if (capacity <= 0 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`ring capacity ${capacity} is not a power of two`);
    this.buffer = buffer ?? new SharedArrayBuffer(HEADER_BYTES + capacity);
    if (this.buffer.byteLength !== HEADER_BYTES + capacity) throw new RangeError('ring buffer size does not match its capacity');
    this.idx = new Int32Array(this.buffer, 0, 4);
    this.data = new Uint8Array(this.buffer, HEADER_BYTES, capacity);
    this.mask = capacity - 1;
  }

  static attach(buffer: SharedArrayBuffer): SharedRing {
    return new SharedRing(buffer.byteLength - HEADER_BYTES, buffer);
  }

  /** Bytes waiting to be read. */
  available(): number {
    return (Atomics.load(this.idx, TAIL) - Atomics.load(this.idx, HEAD)) >>> 0;
  }

  /** Consumer: the next byte; call only when available() > 0. */
  take(): number {
    const head = Atomics.load(this.idx, HEAD);
    const b = this.data[head & this.mask]!;
    Atomics.store(this.idx, HEAD, (head + 1) | 0);
    return b;
  }

  /**
   * Producer: a BREAK before the next byte pushed. At most one is pending;
   * returns false (and drops it) while the previous one is still unread.
   */
  pushBreak(): boolean {
    if (Atomics.load(this.idx, BREAK_PENDING) !== 0) return false;
    Atomics.store(this.idx, BREAK_AT, Atomics.load(this.idx, TAIL));
    Atomics.store(this.idx, BREAK_PENDING, 1);
    return true;
  }

  /** Consumer: true, once, when a BREAK comes before the next byte. */
  takeBreak(): boolean {
    if (Atomics.load(this.idx, BREAK_PENDING) === 0 || Atomics.load(this.idx, BREAK_AT) !== Atomics.load(this.idx, HEAD)) return false;
    Atomics.store(this.idx, BREAK_PENDING, 0);
    return true;
  }

  /** Producer: copies as many bytes as fit; returns how many. */
  push(bytes: ArrayLike<number>): number {
    const tail = Atomics.load(this.idx, TAIL);
    const free = this.data.length - ((tail - Atomics.load(this.idx, HEAD)) >>> 0);
    const n = Math.min(free, bytes.length);
    for (let i = 0; i < n; i++) this.data[(tail + i) & this.mask] = bytes[i]!;
    Atomics.store(this.idx, TAIL, (tail + n) | 0);
    return n;
  }
}
