// A virtio-net device as plain data: the TAP the main thread opened (tap.ts)
// and the guest's MAC, for the vCPU side (config model) and the queue worker.
export interface NetBackendSpec {
  readonly kind: 'net';
  readonly tapFd: number;
  readonly tapName: string;
  /** The guest's MAC, six bytes. */
  readonly mac: readonly number[];
}
