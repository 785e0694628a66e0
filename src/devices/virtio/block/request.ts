// Parse a virtio-blk descriptor chain into a typed request (virtio 1.2
// §5.2.6), without touching the disk: parse, then act (executor.ts executes).
//
// Layout the driver must use: a 16-byte header (type, reserved, sector) in
// device-readable memory, then data (readable for OUT, DISCARD and
// WRITE_ZEROES; writable for IN and GET_ID), then one writable status byte at
// the very end. Buffers may be split across descriptors anywhere (§2.6.4:
// no framing assumptions). Everything is checked here: sizes, sector ranges
// (with overflow), segment limits, read-only disks. A request that fails
// becomes kind 'error' carrying the status to report and where, or status
// null when the chain has no writable byte to report it in.
//
// The request is a reusable object (the queue handler keeps one and refills
// it per chain), so parsing allocates nothing on the way to a read or write.
import type { GuestMemory } from '../../../memory/guest_memory.js';
import type { DescriptorChain, Segment } from '../queue.js';
import { VIRTIO_BLK, VIRTIO_BLK_S, VIRTIO_BLK_T } from './constants.js';

/** What the device accepts; mirrors the configuration space it advertises. */
export interface BlockLimits {
  /** Disk size in 512-byte sectors. */
  readonly capacity: number;
  readonly readOnly: boolean;
  /** Most data segments per request (config seg_max). */
  readonly segMax: number;
  /** Largest data segment in bytes (config size_max). */
  readonly sizeMax: number;
  readonly maxDiscardSectors: number;
  readonly maxWriteZeroesSectors: number;
}

export type BlockRequestKind = 'in' | 'out' | 'flush' | 'get_id' | 'discard' | 'write_zeroes' | 'error';

/** Guest buffers, as parallel arrays that grow by doubling and are reused. */
export class SegmentList {
  count = 0;
  private gpas = new Float64Array(4);
  private lens = new Float64Array(4);

  gpa(i: number): number {
    return this.gpas[i]!;
  }
  len(i: number): number {
    return this.lens[i]!;
  }
  clear(): void {
    this.count = 0;
  }
  add(gpa: number, len: number): void {
    if (this.count === this.gpas.length) {
      const gpas = new Float64Array(2 * this.count);
      const lens = new Float64Array(2 * this.count);
      gpas.set(this.gpas);
      lens.set(this.lens);
      this.gpas = gpas;
      this.lens = lens;
    }
    this.gpas[this.count] = gpa;
    this.lens[this.count++] = len;
  }
  /** As objects (allocates: tests). */
  segments(): Segment[] {
    const out: Segment[] = [];
    for (let i = 0; i < this.count; i++) out.push({ gpa: this.gpas[i]!, len: this.lens[i]! });
    return out;
  }
}

/** The fields a request may carry; which ones mean something depends on `kind`. */
export interface BlockRequestFields {
  readonly kind: BlockRequestKind;
  /** in, out, discard, write_zeroes: the first sector. */
  readonly sector?: number;
  /** in, out, get_id: the data buffers and their bytes. */
  readonly data?: readonly Segment[];
  readonly bytes?: number;
  /** discard, write_zeroes */
  readonly sectors?: number;
  readonly unmap?: boolean;
  /** Guest address of the status byte; null: the chain has none (error only). */
  readonly status: number | null;
  /** error: the status to report and why. */
  readonly code?: number;
  readonly reason?: string;
}

export class BlockRequest {
  kind: BlockRequestKind = 'error';
  sector = 0;
  /** in, out, get_id: the data buffers (the chain's, cut to the data bytes). */
  readonly data = new SegmentList();
  bytes = 0;
  sectors = 0;
  unmap = false;
  status: number | null = null;
  code = 0;
  reason = '';

  /** A request with these fields (tests; the device parses into a reused one). */
  static of(f: BlockRequestFields): BlockRequest {
    const r = new BlockRequest();
    r.kind = f.kind;
    r.sector = f.sector ?? 0;
    for (const s of f.data ?? []) r.data.add(s.gpa, s.len);
    r.bytes = f.bytes ?? 0;
    r.sectors = f.sectors ?? 0;
    r.unmap = f.unmap ?? false;
    r.status = f.status;
    r.code = f.code ?? 0;
    r.reason = f.reason ?? '';
    return r;
  }

  private fail(reason: string, code: number = VIRTIO_BLK_S.IOERR): BlockRequest {
    this.kind = 'error';
    this.code = code;
    this.reason = reason;
    return this;
  }

  /** Fills this request from `chain`; returns it. */
  parse(mem: GuestMemory, chain: DescriptorChain, limits: BlockLimits): BlockRequest {
    this.data.clear();
    const w = chain.writableCount;
    const lastLen = w === 0 ? 0 : chain.len(chain.count - 1);
    if (lastLen === 0) {
      this.status = null;
      return this.fail('no writable status byte');
    }
    this.status = chain.gpa(chain.count - 1) + lastLen - 1;
    if (chain.readableLength < VIRTIO_BLK.HEADER_SIZE) return this.fail(`header is ${chain.readableLength} bytes, not ${VIRTIO_BLK.HEADER_SIZE}`);
    readHeader(mem, chain);
    const type = headerView.getUint32(0, true);
    const sector = u64(headerView, 8);
    const payloadIn = chain.readableLength - VIRTIO_BLK.HEADER_SIZE; // readable bytes after the header
    const payloadOut = chain.writableLength - 1; // writable bytes before the status
    const writes = type === VIRTIO_BLK_T.OUT || type === VIRTIO_BLK_T.DISCARD || type === VIRTIO_BLK_T.WRITE_ZEROES;
    if (writes && limits.readOnly) return this.fail('write to a read-only disk');
    switch (type) {
      case VIRTIO_BLK_T.IN:
        if (payloadIn !== 0) return this.fail(`read request with ${payloadIn} readable data bytes`);
        return this.transfer('in', chain, chain.readableCount, chain.count, 0, payloadOut, sector, limits);
      case VIRTIO_BLK_T.OUT:
        if (payloadOut !== 0) return this.fail(`write request with ${payloadOut} writable data bytes`);
        return this.transfer('out', chain, 0, chain.readableCount, VIRTIO_BLK.HEADER_SIZE, payloadIn, sector, limits);
      case VIRTIO_BLK_T.FLUSH:
        if (payloadIn !== 0 || payloadOut !== 0) return this.fail('flush request with data');
        this.kind = 'flush';
        return this;
      case VIRTIO_BLK_T.GET_ID: {
        if (payloadIn !== 0) return this.fail('get-id request with readable data');
        this.kind = 'get_id';
        this.bytes = Math.min(payloadOut, VIRTIO_BLK.ID_BYTES);
        range(chain, chain.readableCount, chain.count, 0, this.bytes, this.data);
        return this;
      }
      case VIRTIO_BLK_T.DISCARD:
      case VIRTIO_BLK_T.WRITE_ZEROES: {
        const discard = type === VIRTIO_BLK_T.DISCARD;
        if (payloadOut !== 0) return this.fail('discard/write-zeroes request with writable data');
        // One segment per request: we advertise max_discard_seg = max_write_zeroes_seg = 1.
        if (payloadIn !== VIRTIO_BLK.DWZ_SEGMENT_SIZE) return this.fail(`discard/write-zeroes payload of ${payloadIn} bytes, expected one ${VIRTIO_BLK.DWZ_SEGMENT_SIZE}-byte segment`);
        gather(mem, chain, 0, chain.readableCount, VIRTIO_BLK.HEADER_SIZE, segment);
        const start = u64(segmentView, 0);
        const sectors = segmentView.getUint32(8, true);
        const flags = segmentView.getUint32(12, true);
        // §5.2.6.2: unknown flags, or unmap on a discard, are unsupported.
        if ((flags & ~VIRTIO_BLK.DWZ_FLAG_UNMAP) !== 0 || (discard && flags !== 0)) return this.fail(`flags 0x${flags.toString(16)} not supported`, VIRTIO_BLK_S.UNSUPP);
        const max = discard ? limits.maxDiscardSectors : limits.maxWriteZeroesSectors;
        if (sectors > max) return this.fail(`${sectors} sectors, more than the maximum ${max}`);
        if (!inRange(limits, start, sectors)) return this.fail(`sectors ${start}+${sectors} past the end (${limits.capacity})`);
        this.kind = discard ? 'discard' : 'write_zeroes';
        this.sector = start;
        this.sectors = sectors;
        this.unmap = (flags & VIRTIO_BLK.DWZ_FLAG_UNMAP) !== 0;
        return this;
      }
      default:
        return this.fail(`request type ${type} not supported`, VIRTIO_BLK_S.UNSUPP);
    }
  }

  /** IN or OUT: the data is bytes [from, from + bytes) of chain buffers [first, end). */
  private transfer(kind: 'in' | 'out', chain: DescriptorChain, first: number, end: number, from: number, bytes: number, sector: number, limits: BlockLimits): BlockRequest {
    if (bytes % VIRTIO_BLK.SECTOR_SIZE !== 0) return this.fail(`data length ${bytes} is not a multiple of ${VIRTIO_BLK.SECTOR_SIZE}`);
    range(chain, first, end, from, bytes, this.data);
    const data = this.data;
    if (data.count > limits.segMax) return this.fail(`${data.count} data segments, more than seg_max ${limits.segMax}`);
    for (let i = 0; i < data.count; i++) if (data.len(i) > limits.sizeMax) return this.fail(`data segment of ${data.len(i)} bytes, more than size_max ${limits.sizeMax}`);
    if (!inRange(limits, sector, bytes / VIRTIO_BLK.SECTOR_SIZE)) return this.fail(`sectors ${sector}+${bytes / VIRTIO_BLK.SECTOR_SIZE} past the end (${limits.capacity})`);
    this.kind = kind;
    this.sector = sector;
    this.bytes = bytes;
    return this;
  }
}

/** Parses `chain` into a new request (tests; the queue handler reuses one). */
export function parseRequest(mem: GuestMemory, chain: DescriptorChain, limits: BlockLimits): BlockRequest {
  return new BlockRequest().parse(mem, chain, limits);
}

const header = new Uint8Array(VIRTIO_BLK.HEADER_SIZE);
const headerView = new DataView(header.buffer);
const segment = new Uint8Array(VIRTIO_BLK.DWZ_SEGMENT_SIZE);
const segmentView = new DataView(segment.buffer);

/** The 16-byte header into `header`: three reads when the first buffer holds it (as drivers lay it out), else byte by byte. */
function readHeader(mem: GuestMemory, chain: DescriptorChain): void {
  if (chain.len(0) >= VIRTIO_BLK.HEADER_SIZE) {
    const gpa = chain.gpa(0);
    headerView.setUint32(0, mem.readU32(gpa), true);
    headerView.setUint32(8, mem.readU32(gpa + 8), true);
    headerView.setUint32(12, mem.readU32(gpa + 12), true);
    return;
  }
  gather(mem, chain, 0, chain.readableCount, 0, header);
}

function inRange(limits: BlockLimits, start: number, sectors: number): boolean {
  return start <= limits.capacity && sectors <= limits.capacity - start;
}

/** Copies bytes [from, from + into.length) of chain buffers [first, end) into `into`, byte by byte (no views). */
function gather(mem: GuestMemory, chain: DescriptorChain, first: number, end: number, from: number, into: Uint8Array): void {
  let skip = from;
  let done = 0;
  for (let i = first; i < end && done < into.length; i++) {
    const len = chain.len(i);
    if (skip >= len) {
      skip -= len;
      continue;
    }
    const n = Math.min(len - skip, into.length - done);
    const gpa = chain.gpa(i) + skip;
    for (let k = 0; k < n; k++) into[done + k] = mem.readU8(gpa + k);
    done += n;
    skip = 0;
  }
}

/** Puts the pieces of chain buffers [first, end) covering bytes [from, from + length) into `out`. */
function range(chain: DescriptorChain, first: number, end: number, from: number, length: number, out: SegmentList): void {
  let skip = from;
  let left = length;
  for (let i = first; i < end && left > 0; i++) {
    const len = chain.len(i);
    if (skip >= len) {
      skip -= len;
      continue;
    }
    const n = Math.min(len - skip, left);
    out.add(chain.gpa(i) + skip, n);
    left -= n;
    skip = 0;
  }
}

/** A sector number from a 64-bit field; anything at or above 2^53 reads as +Infinity. */
function u64(view: DataView, off: number): number {
  const hi = view.getUint32(off + 4, true);
  return hi >= 0x20_0000 ? Infinity : hi * 0x1_0000_0000 + view.getUint32(off, true);
}
