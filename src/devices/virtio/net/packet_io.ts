// Where frames go and come from: a TAP fd (tap.ts) in production; a
// socketpair end or a fake in tests. Frames move through an IoTable
// (../../../memory/io_table.ts): one entry per frame, its segments guest
// buffers (or the RX spill), the virtio header included. Both calls are
// non-blocking and never throw for a refused frame: each entry's result is
// bytes moved or -errno (-EAGAIN: the fd is full or empty now).
import { native } from '../../../native/addon.js';
import type { IoTable } from '../../../memory/io_table.js';

export interface PacketIo {
  /**
   * Writes entries [0, n) of `t` as one frame each, in order; stops after
   * one that would block (-EAGAIN). Returns the entries tried: their results
   * are in t.results.
   */
  writeFrames(t: IoTable, n: number): number;
  /**
   * Reads one frame into each of entries [0, n) of `t`, in order. Each
   * entry's last segment is overflow room: a frame that reaches it may have
   * been cut short. Stops after an entry that got -EAGAIN (no frame waiting),
   * 0 (the other end is gone), or bytes in its last segment. Returns the
   * entries filled (results in t.results).
   */
  readFrames(t: IoTable, n: number): number;
}

/** readv/writev on a non-blocking fd that keeps frame boundaries (TAP, SOCK_SEQPACKET). */
export class FdPacketIo implements PacketIo {
  constructor(readonly fd: number) {}

  writeFrames(t: IoTable, n: number): number {
    return native.writevEach(this.fd, t.iov, t.counts, n, t.results);
  }

  readFrames(t: IoTable, n: number): number {
    return native.readvEach(this.fd, t.iov, t.counts, n, t.results);
  }
}
