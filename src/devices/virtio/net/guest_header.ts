// virtio_net_hdr fields read from and written to guest memory in place, with
// nothing allocated: directly when the chain's first buffer holds the whole
// header (what Linux does), else byte by byte across buffers (any framing is
// allowed, §2.6.4).
import type { GuestMemory } from '../../../memory/guest_memory.js';
import type { DescriptorChain } from '../queue.js';
import { VIRTIO_NET_HDR } from './constants.js';
import { decodeHeader, type VnetHeader } from './header.js';

/** Decodes the first `scratch.length` bytes of the chain's readable buffers (the caller checked there are that many) into `into`. */
export function readTxHeader(mem: GuestMemory, chain: DescriptorChain, scratch: Uint8Array, into: VnetHeader): void {
  const size = scratch.length;
  if (chain.len(0) >= size) {
    const at = chain.gpa(0);
    into.flags = mem.readU8(at + VIRTIO_NET_HDR.FLAGS);
    into.gsoType = mem.readU8(at + VIRTIO_NET_HDR.GSO_TYPE);
    into.hdrLen = mem.readU16(at + VIRTIO_NET_HDR.HDR_LEN);
    into.gsoSize = mem.readU16(at + VIRTIO_NET_HDR.GSO_SIZE);
    into.csumStart = mem.readU16(at + VIRTIO_NET_HDR.CSUM_START);
    into.csumOffset = mem.readU16(at + VIRTIO_NET_HDR.CSUM_OFFSET);
    into.numBuffers = size >= VIRTIO_NET_HDR.SIZE ? mem.readU16(at + VIRTIO_NET_HDR.NUM_BUFFERS) : 0;
    return;
  }
  let done = 0;
  for (let i = 0; i < chain.readableCount && done < size; i++) {
    const gpa = chain.gpa(i);
    const n = Math.min(chain.len(i), size - done);
    for (let k = 0; k < n; k++) scratch[done + k] = mem.readU8(gpa + k);
    done += n;
  }
  decodeHeader(scratch, into);
}

/** Writes num_buffers (header bytes 10..11, little-endian) into a receive chain's header; a 10-byte header has none. */
export function writeNumBuffers(mem: GuestMemory, chain: DescriptorChain, headerSize: number, count: number): void {
  if (headerSize < VIRTIO_NET_HDR.SIZE) return;
  const first = chain.readableCount;
  if (chain.len(first) >= VIRTIO_NET_HDR.SIZE) {
    mem.writeU16(chain.gpa(first) + VIRTIO_NET_HDR.NUM_BUFFERS, count);
    return;
  }
  let skip: number = VIRTIO_NET_HDR.NUM_BUFFERS;
  let done = 0;
  for (let i = first; i < chain.count && done < 2; i++) {
    const len = chain.len(i);
    for (let k = skip; k < len && done < 2; k++) mem.writeU8(chain.gpa(i) + k, done++ === 0 ? count & 0xff : count >>> 8);
    skip = Math.max(0, skip - len);
  }
}
