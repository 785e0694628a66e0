// What a virtio device provides to its transport, and how the queue side
// raises interrupts.
//
// Seams (threads): the transport (pci_transport.ts) runs on the vCPU thread
// and talks to a VirtioDevice for identity, features and the device-specific
// configuration space. Request processing runs on the device's worker thread
// over queues rebuilt from shared state (shared_state.ts); that side raises
// interrupts through an InterruptSink. The two sides share only the words in
// shared_state.ts, so a device's VirtioDevice object must not hold state the
// worker changes (virtio-blk's configuration space is fixed at startup).

export interface VirtioDevice {
  /** Virtio device id (§5, e.g. VIRTIO_ID.BLOCK). */
  readonly deviceType: number;
  /** Offered feature bits, including VIRTIO_F_VERSION_1 and ring features. */
  readonly features: bigint;
  /** Largest size of each queue; its length is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Bytes of device-specific configuration space. */
  readonly configSize: number;
  /** PCI class code (24 bits) the device presents. */
  readonly pciClass: number;
  /** Reads device configuration space; offset + size <= configSize is guaranteed. */
  readConfig(offset: number, size: number): number;
  writeConfig(offset: number, size: number, value: number): void;
  /** The driver set DRIVER_OK having accepted `features`. */
  activate(features: bigint): void;
  /** The driver reset the device. */
  reset(): void;
}

/**
 * Interrupt delivery from the queue side. `queue(vector)` signals a used
 * buffer on a queue whose MSI-X vector is `vector` (VIRTIO_PCI.NO_VECTOR when
 * none); `config()` signals a configuration change (or DEVICE_NEEDS_RESET).
 * The implementation picks MSI-X or INTx + ISR (SharedInterrupts does that
 * from the shared state).
 */
export interface InterruptSink {
  queue(vector: number): void;
  config(): void;
}

/** A little-endian read of `size` bytes at `offset` of a device's config bytes; bytes past the end read as 0. */
export function readConfigBytes(bytes: Uint8Array, offset: number, size: number): number {
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + (bytes[offset + i] ?? 0);
  return value;
}
