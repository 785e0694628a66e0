// Guest physical memory: the one way the VMM reads and writes guest RAM.
//
// Everything a guest hands us (descriptor addresses, lengths, table pointers)
// is hostile input. Every access goes through `check`, which rejects negative,
// non-integer, overflowing or out-of-RAM ranges, so a bad address becomes a
// GuestMemoryError for that request, never a host crash or a silent wrap.
//
// RAM is a memfd so that worker threads (vCPU, device queues) can map the same
// pages: an ArrayBuffer over external memory cannot be shared between threads,
// but the file descriptor can. Addresses are plain numbers: guest RAM ends far
// below 2^53, and the hot paths avoid BigInt.
import { native } from '../native/addon.js';
import { MAP, PROT } from '../native/linux.js';
import { TsvmmError } from '../base/errors.js';

/** One contiguous piece of guest RAM: guest address, size, offset in the memfd. */
export interface RegionSpec {
  readonly gpa: number;
  readonly size: number;
  readonly fileOffset: number;
}

/** What another thread needs to map the same guest memory. */
export interface GuestMemoryDescriptor {
  readonly fd: number;
  readonly regions: readonly RegionSpec[];
}

export class GuestMemoryError extends TsvmmError {
  constructor(
    message: string,
    readonly gpa: number,
    readonly length: number,
  ) {
    super(message);
  }
}

interface Region {
  readonly gpa: number;
  readonly end: number; // exclusive
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Host virtual address of the region's first byte (for the addon's iovec tables). */
  readonly host: number;
}

export class GuestMemory {
  private readonly regions: Region[];
  /** Total RAM in bytes. */
  readonly size: number;

  /** Wraps already-mapped buffers, one per region (tests use plain ArrayBuffers). */
  constructor(regions: ReadonlyArray<{ gpa: number; buffer: ArrayBuffer }>) {
    const sorted = [...regions].sort((a, b) => a.gpa - b.gpa);
    let size = 0;
    let lastEnd = 0;
    this.regions = sorted.map(({ gpa, buffer }) => {
      if (!Number.isSafeInteger(gpa) || gpa < lastEnd) throw new RangeError(`guest memory region at 0x${gpa.toString(16)} overlaps or is invalid`);
      lastEnd = gpa + buffer.byteLength;
      size += buffer.byteLength;
      return { gpa, end: lastEnd, bytes: new Uint8Array(buffer), view: new DataView(buffer), host: Number(native.address(buffer)) };
    });
    this.size = size;
  }

  /** Creates anonymous, lazily populated guest RAM backed by a memfd. */
  static create(regions: ReadonlyArray<{ gpa: number; size: number }>): { memory: GuestMemory; descriptor: GuestMemoryDescriptor } {
    const fd = native.memfdCreate('tsvmm-guest-ram', 0);
    let offset = 0;
    const specs: RegionSpec[] = regions.map((r) => {
      const spec = { gpa: r.gpa, size: r.size, fileOffset: offset };
      offset += r.size;
      return spec;
    });
    native.ftruncate(fd, offset);
    const descriptor = { fd, regions: specs };
    return { memory: GuestMemory.map(descriptor), descriptor };
  }

  /** Maps guest RAM described by `descriptor` into this thread. */
  static map(descriptor: GuestMemoryDescriptor): GuestMemory {
    return new GuestMemory(
      descriptor.regions.map((r) => ({
        gpa: r.gpa,
        buffer: native.mmap(r.size, PROT.READ | PROT.WRITE, MAP.SHARED | MAP.NORESERVE, descriptor.fd, r.fileOffset),
      })),
    );
  }

  /** The regions, for KVM memory slots: guest address, size and host buffer. */
  slots(): Array<{ gpa: number; size: number; buffer: ArrayBuffer }> {
    return this.regions.map((r) => ({ gpa: r.gpa, size: r.end - r.gpa, buffer: r.bytes.buffer as ArrayBuffer }));
  }

  /** True when [gpa, gpa+length) lies inside one RAM region. */
  contains(gpa: number, length: number): boolean {
    return this.find(gpa, length) !== undefined;
  }

  private find(gpa: number, length: number): Region | undefined {
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(length) || gpa < 0 || length < 0) return undefined;
    const end = gpa + length;
    const regions = this.regions;
    for (let i = 0; i < regions.length; i++) {
      const r = regions[i]!;
      if (gpa >= r.gpa && end <= r.end) return r;
    }
    return undefined;
  }

  private check(gpa: number, length: number): Region {
    const r = this.find(gpa, length);
    if (r === undefined) {
      throw new GuestMemoryError(`guest range 0x${gpa.toString(16)}+${length} is outside guest RAM`, gpa, length);
    }
    return r;
  }

  /** A live view of guest bytes [gpa, gpa+length). Writes go to guest RAM. */
  slice(gpa: number, length: number): Uint8Array {
    const r = this.check(gpa, length);
    const off = gpa - r.gpa;
    return r.bytes.subarray(off, off + length);
  }

  /**
   * The host virtual address of guest bytes [gpa, gpa+length), for the
   * addon's iovec tables (native readvEach/writevEach/...): checked like any
   * access, so a table built from it only points into guest RAM.
   */
  hostAddress(gpa: number, length: number): number {
    const r = this.check(gpa, length);
    return r.host + (gpa - r.gpa);
  }

  read(gpa: number, into: Uint8Array): void {
    into.set(this.slice(gpa, into.length));
  }

  write(gpa: number, from: Uint8Array): void {
    this.slice(gpa, from.length).set(from);
  }

  fill(gpa: number, length: number, value: number): void {
    this.slice(gpa, length).fill(value);
  }

  readU8(gpa: number): number {
    const r = this.check(gpa, 1);
    return r.bytes[gpa - r.gpa]!;
  }
  readU16(gpa: number): number {
    const r = this.check(gpa, 2);
    return r.view.getUint16(gpa - r.gpa, true);
  }
  readU32(gpa: number): number {
    const r = this.check(gpa, 4);
    return r.view.getUint32(gpa - r.gpa, true);
  }
  /** A 64-bit value as a number; values above 2^53 throw (no guest address is that large). */
  readU64(gpa: number): number {
    const r = this.check(gpa, 8);
    const lo = r.view.getUint32(gpa - r.gpa, true);
    const hi = r.view.getUint32(gpa - r.gpa + 4, true);
    if (hi >= 0x200000) throw new GuestMemoryError(`64-bit value at 0x${gpa.toString(16)} exceeds 2^53`, gpa, 8);
    return hi * 0x1_0000_0000 + lo;
  }
  readU64Big(gpa: number): bigint {
    const r = this.check(gpa, 8);
    return r.view.getBigUint64(gpa - r.gpa, true);
  }

  writeU8(gpa: number, v: number): void {
    const r = this.check(gpa, 1);
    r.bytes[gpa - r.gpa] = v;
  }
  writeU16(gpa: number, v: number): void {
    const r = this.check(gpa, 2);
    r.view.setUint16(gpa - r.gpa, v, true);
  }
  writeU32(gpa: number, v: number): void {
    const r = this.check(gpa, 4);
    r.view.setUint32(gpa - r.gpa, v >>> 0, true);
  }
  writeU64(gpa: number, v: number | bigint): void {
    const r = this.check(gpa, 8);
    if (typeof v === 'bigint') {
      r.view.setBigUint64(gpa - r.gpa, v, true);
    } else {
      r.view.setUint32(gpa - r.gpa, v >>> 0, true);
      r.view.setUint32(gpa - r.gpa + 4, Math.floor(v / 0x1_0000_0000) >>> 0, true);
    }
  }

  /** Unmaps guest RAM from this thread (mmap-backed instances only). */
  unmap(): void {
    for (const r of this.regions) native.munmap(r.bytes.buffer as ArrayBuffer);
  }
}
