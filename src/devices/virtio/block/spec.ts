// A virtio-blk device as plain data: what the main thread opened (disk.ts)
// and hands to the vCPU side (config model) and the queue worker (executor).
export interface BlockBackendSpec {
  readonly kind: 'blk';
  /** The image's fd, opened read-write unless readOnly. */
  readonly fd: number;
  /** Bytes (a multiple of 512). */
  readonly size: number;
  readonly readOnly: boolean;
  /** GET_ID answer. */
  readonly serial: string;
}
