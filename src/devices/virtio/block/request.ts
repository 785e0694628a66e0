// Parse a virtio-blk descriptor chain into a typed request (virtio 1.2
// §5.2.6), without touching the disk: parse, then act (device.ts executes).
//
// Layout the driver must use: a 16-byte header (type, reserved, sector) in
// device-readable memory, then data (readable for OUT, DISCARD and
// WRITE_ZEROES; writable for IN and GET_ID), then one writable status byte at
// the very end. Buffers may be split across descriptors anywhere (§2.6.4:
// no framing assumptions). Everything is checked here: sizes, sector ranges
// (with overflow), segment limits, read-only disks. A request that fails
// becomes { kind: 'error' } carrying the status to report and where, or
// status: null when the chain has no writable byte to report it in.
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

export type BlockRequest =
  | { readonly kind: 'in' | 'out'; readonly sector: number; readonly data: Segment[]; readonly bytes: number; readonly status: number }
  | { readonly kind: 'flush'; readonly status: number }
  | { readonly kind: 'get_id'; readonly data: Segment[]; readonly bytes: number; readonly status: number }
  | { readonly kind: 'discard' | 'write_zeroes'; readonly sector: number; readonly sectors: number; readonly unmap: boolean; readonly status: number }
  | { readonly kind: 'error'; readonly code: number; readonly reason: string; readonly status: number | null };

const header = new Uint8Array(VIRTIO_BLK.HEADER_SIZE);
const headerView = new DataView(header.buffer);
const segment = new Uint8Array(VIRTIO_BLK.DWZ_SEGMENT_SIZE);
const segmentView = new DataView(segment.buffer);

/** Copies bytes [from, from + into.length) of the concatenated segments into `into`. */
function gather(mem: GuestMemory, segs: readonly Segment[], from: number, into: Uint8Array): void {
  let skip = from;
  let done = 0;
  for (const s of segs) {
    if (done === into.length) return;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const n = Math.min(s.len - skip, into.length - done);
    into.set(mem.slice(s.gpa + skip, n), done);
    done += n;
    skip = 0;
  }
}

/** The segments covering bytes [from, from + length) of `segs`. */
function range(segs: readonly Segment[], from: number, length: number): Segment[] {
  const out: Segment[] = [];
  let skip = from;
  let left = length;
  for (const s of segs) {
    if (left === 0) break;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const n = Math.min(s.len - skip, left);
    out.push({ gpa: s.gpa + skip, len: n });
    left -= n;
    skip = 0;
  }
  return out;
}

/** A sector number from a 64-bit field; anything at or above 2^53 reads as +Infinity. */
function u64(view: DataView, off: number): number {
  const hi = view.getUint32(off + 4, true);
  return hi >= 0x20_0000 ? Infinity : hi * 0x1_0000_0000 + view.getUint32(off, true);
}

export function parseRequest(mem: GuestMemory, chain: DescriptorChain, limits: BlockLimits): BlockRequest {
  const w = chain.writable;
  const last = w[w.length - 1];
  if (last === undefined || last.len === 0) return { kind: 'error', code: VIRTIO_BLK_S.IOERR, reason: 'no writable status byte', status: null };
  const status = last.gpa + last.len - 1;
  const fail = (reason: string, code: number = VIRTIO_BLK_S.IOERR): BlockRequest => ({ kind: 'error', code, reason, status });
  if (chain.readableLength < VIRTIO_BLK.HEADER_SIZE) return fail(`header is ${chain.readableLength} bytes, not ${VIRTIO_BLK.HEADER_SIZE}`);
  gather(mem, chain.readable, 0, header);
  const type = headerView.getUint32(0, true);
  const sector = u64(headerView, 8);
  const payloadIn = chain.readableLength - VIRTIO_BLK.HEADER_SIZE; // readable bytes after the header
  const payloadOut = chain.writableLength - 1; // writable bytes before the status
  const writes = type === VIRTIO_BLK_T.OUT || type === VIRTIO_BLK_T.DISCARD || type === VIRTIO_BLK_T.WRITE_ZEROES;
  if (writes && limits.readOnly) return fail('write to a read-only disk');

  const inRange = (start: number, sectors: number): boolean => start <= limits.capacity && sectors <= limits.capacity - start;
  const dataSegments = (segs: Segment[], bytes: number): string | null => {
    if (bytes % VIRTIO_BLK.SECTOR_SIZE !== 0) return `data length ${bytes} is not a multiple of ${VIRTIO_BLK.SECTOR_SIZE}`;
    if (segs.length > limits.segMax) return `${segs.length} data segments, more than seg_max ${limits.segMax}`;
    for (const s of segs) if (s.len > limits.sizeMax) return `data segment of ${s.len} bytes, more than size_max ${limits.sizeMax}`;
    if (!inRange(sector, bytes / VIRTIO_BLK.SECTOR_SIZE)) return `sectors ${sector}+${bytes / VIRTIO_BLK.SECTOR_SIZE} past the end (${limits.capacity})`;
    return null;
  };

  switch (type) {
    case VIRTIO_BLK_T.IN: {
      if (payloadIn !== 0) return fail(`read request with ${payloadIn} readable data bytes`);
      const data = range(w, 0, payloadOut);
      const bad = dataSegments(data, payloadOut);
      return bad !== null ? fail(bad) : { kind: 'in', sector, data, bytes: payloadOut, status };
    }
    case VIRTIO_BLK_T.OUT: {
      if (payloadOut !== 0) return fail(`write request with ${payloadOut} writable data bytes`);
      const data = range(chain.readable, VIRTIO_BLK.HEADER_SIZE, payloadIn);
      const bad = dataSegments(data, payloadIn);
      return bad !== null ? fail(bad) : { kind: 'out', sector, data, bytes: payloadIn, status };
    }
    case VIRTIO_BLK_T.FLUSH:
      if (payloadIn !== 0 || payloadOut !== 0) return fail('flush request with data');
      return { kind: 'flush', status };
    case VIRTIO_BLK_T.GET_ID: {
      if (payloadIn !== 0) return fail('get-id request with readable data');
      const bytes = Math.min(payloadOut, VIRTIO_BLK.ID_BYTES);
      return { kind: 'get_id', data: range(w, 0, bytes), bytes, status };
    }
    case VIRTIO_BLK_T.DISCARD:
    case VIRTIO_BLK_T.WRITE_ZEROES: {
      const discard = type === VIRTIO_BLK_T.DISCARD;
      if (payloadOut !== 0) return fail('discard/write-zeroes request with writable data');
      // One segment per request: we advertise max_discard_seg = max_write_zeroes_seg = 1.
      if (payloadIn !== VIRTIO_BLK.DWZ_SEGMENT_SIZE) return fail(`discard/write-zeroes payload of ${payloadIn} bytes, expected one ${VIRTIO_BLK.DWZ_SEGMENT_SIZE}-byte segment`);
      gather(mem, chain.readable, VIRTIO_BLK.HEADER_SIZE, segment);
      const start = u64(segmentView, 0);
      const sectors = segmentView.getUint32(8, true);
      const flags = segmentView.getUint32(12, true);
      // §5.2.6.2: unknown flags, or unmap on a discard, are unsupported.
      if ((flags & ~VIRTIO_BLK.DWZ_FLAG_UNMAP) !== 0 || (discard && flags !== 0)) return fail(`flags 0x${flags.toString(16)} not supported`, VIRTIO_BLK_S.UNSUPP);
      const max = discard ? limits.maxDiscardSectors : limits.maxWriteZeroesSectors;
      if (sectors > max) return fail(`${sectors} sectors, more than the maximum ${max}`);
      if (!inRange(start, sectors)) return fail(`sectors ${start}+${sectors} past the end (${limits.capacity})`);
      return { kind: discard ? 'discard' : 'write_zeroes', sector: start, sectors, unmap: (flags & VIRTIO_BLK.DWZ_FLAG_UNMAP) !== 0, status };
    }
    default:
      return fail(`request type ${type} not supported`, VIRTIO_BLK_S.UNSUPP);
  }
}
