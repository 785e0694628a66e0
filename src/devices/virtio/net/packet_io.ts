// Where frames go and come from: one frame per call, header included. A TAP
// fd (tap.ts) in production; a socketpair end or a fake in tests. Both calls
// are non-blocking and report a full or empty fd as -EAGAIN (-11), like the
// addon's read/write; other failures throw the addon's NativeError.
import { native } from '../../../native/addon.js';

export interface PacketIo {
  /**
   * Reads one frame into `into`, in order: bytes read, -EAGAIN when no frame
   * is waiting, 0 when the other end is gone. A frame longer than `into`
   * is cut short (the rest is lost), so callers pass room to spare.
   */
  read(into: Uint8Array[]): number;
  /** Writes `views` as one frame: bytes written, or -EAGAIN when there is no room now. */
  write(views: Uint8Array[]): number;
}

/** readv/writev on a non-blocking fd that keeps frame boundaries (TAP, SOCK_SEQPACKET). */
export class FdPacketIo implements PacketIo {
  constructor(readonly fd: number) {}

  read(into: Uint8Array[]): number {
    return native.readv(this.fd, into);
  }

  write(views: Uint8Array[]): number {
    return native.writev(this.fd, views);
  }
}
