// Guest RAM for fuzz targets: a GuestMemory that records every access, so a
// property can assert what a device touched, not only that it did not crash.
//
// - `outside` lists every access attempted outside guest RAM. GuestMemory
//   refuses those with a GuestMemoryError, but a device must check guest
//   addresses before using them, so an attempt is a bug even when the device
//   catches the error.
// - `reads` counts the 1/2/4/8-byte reads: the work a device did (a
//   descriptor is a handful of reads).
// - `snapshot` / `changedOutside`: the bytes a device changed, compared with
//   the ranges it was allowed to write (the used ring, writable buffers).
// RAM is laid out with holes between regions (see FUZZ_RAM), which play the
// guard pages: addresses there are not guest memory.
import { GuestMemory } from '../memory/guest_memory.js';

/** A half-open guest range [start, end). */
export interface Range {
  readonly start: number;
  readonly end: number;
}

export interface Access {
  readonly op: string;
  readonly gpa: number;
  readonly length: number;
}

/** Two 32 KiB regions with a 32 KiB hole between them and nothing from 0x18000 up. */
export const FUZZ_RAM = [
  { gpa: 0, size: 0x8000 },
  { gpa: 0x1_0000, size: 0x8000 },
] as const;

export class RecordingMemory extends GuestMemory {
  reads = 0;
  writes = 0;
  slices = 0;
  readonly outside: Access[] = [];

  constructor(regions: ReadonlyArray<{ gpa: number; size: number }> = FUZZ_RAM) {
    super(regions.map((r) => ({ gpa: r.gpa, buffer: new ArrayBuffer(r.size) })));
  }

  private note(op: string, gpa: number, length: number): void {
    if (!this.contains(gpa, length)) this.outside.push({ op, gpa, length });
  }

  resetCounts(): void {
    this.reads = 0;
    this.writes = 0;
    this.slices = 0;
  }

  override slice(gpa: number, length: number): Uint8Array {
    this.slices++;
    this.note('slice', gpa, length);
    return super.slice(gpa, length);
  }
  override readU8(gpa: number): number {
    this.reads++;
    this.note('readU8', gpa, 1);
    return super.readU8(gpa);
  }
  override readU16(gpa: number): number {
    this.reads++;
    this.note('readU16', gpa, 2);
    return super.readU16(gpa);
  }
  override readU32(gpa: number): number {
    this.reads++;
    this.note('readU32', gpa, 4);
    return super.readU32(gpa);
  }
  override readU64(gpa: number): number {
    this.reads++;
    this.note('readU64', gpa, 8);
    return super.readU64(gpa);
  }
  override readU64Big(gpa: number): bigint {
    this.reads++;
    this.note('readU64Big', gpa, 8);
    return super.readU64Big(gpa);
  }
  override writeU8(gpa: number, v: number): void {
    this.writes++;
    this.note('writeU8', gpa, 1);
    super.writeU8(gpa, v);
  }
  override writeU16(gpa: number, v: number): void {
    this.writes++;
    this.note('writeU16', gpa, 2);
    super.writeU16(gpa, v);
  }
  override writeU32(gpa: number, v: number): void {
    this.writes++;
    this.note('writeU32', gpa, 4);
    super.writeU32(gpa, v);
  }
  override writeU64(gpa: number, v: number | bigint): void {
    this.writes++;
    this.note('writeU64', gpa, 8);
    super.writeU64(gpa, v);
  }

  /** A copy of every region's bytes. */
  snapshot(): Uint8Array[] {
    return this.slots().map((s) => new Uint8Array(s.buffer).slice());
  }

  /** The first byte that differs from `before` outside `allowed`, described; null when there is none. */
  changedOutside(before: readonly Uint8Array[], allowed: readonly Range[]): string | null {
    const slots = this.slots();
    for (let r = 0; r < slots.length; r++) {
      const { gpa, size, buffer } = slots[r]!;
      // Blank the allowed ranges in copies of both, then compare natively.
      const now = new Uint8Array(buffer).slice();
      const old = before[r]!.slice();
      for (const a of allowed) {
        const start = Math.max(a.start, gpa) - gpa;
        const end = Math.min(a.end, gpa + size) - gpa;
        if (start >= end) continue;
        now.fill(0, start, end);
        old.fill(0, start, end);
      }
      if (Buffer.from(now.buffer).equals(Buffer.from(old.buffer))) continue;
      const i = now.findIndex((b, k) => b !== old[k]);
      const was = new Uint8Array(before[r]!.buffer)[i]!;
      return `byte 0x${(gpa + i).toString(16)} changed from 0x${was.toString(16)} to 0x${now[i]!.toString(16)} outside the ranges the device may write`;
    }
    return null;
  }
}
