// A growable byte buffer for building binary blobs (the device tree's
// structure and strings blocks): one Uint8Array and one DataView over the
// same storage, doubled when full.

/** A growable byte buffer with one DataView over it; u32s are big endian (FDT byte order). */
export class ByteSink {
  private bytes = new Uint8Array(1024);
  private view = new DataView(this.bytes.buffer);
  private used = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.used;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < this.used + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.used));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.used, v >>> 0, false);
    this.used += 4;
  }
  raw(b: Uint8Array): void {
    this.reserve(b.length);
    this.bytes.set(b, this.used);
    this.used += b.length;
  }
  /** Zero bytes up to a multiple of 4. */
  pad4(): void {
    const n = (4 - (this.used % 4)) % 4;
    this.reserve(n);
    this.bytes.fill(0, this.used, this.used + n);
    this.used += n;
  }
  result(): Uint8Array {
    return this.bytes.slice(0, this.used);
  }
}
