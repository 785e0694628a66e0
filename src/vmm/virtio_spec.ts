// One virtio-pci device as plain data: what the main thread creates (eventfds,
// shared memory), handed to the vCPU worker (which runs the PCI transport) and
// to the device's own worker (which serves its queues).
import { native } from '../native/addon.js';
import { EFD } from '../native/linux.js';
import { createSharedState } from '../devices/virtio/shared_state.js';

export interface BlockBackendSpec {
  kind: 'blk';
  fd: number;
  size: number;
  readOnly: boolean;
  serial: string;
}

export interface NetBackendSpec {
  kind: 'net';
  tapFd: number;
  tapName: string;
  /** The guest's MAC, six bytes. */
  mac: number[];
}

export type VirtioBackendSpec = BlockBackendSpec | NetBackendSpec;

export interface VirtioDeviceSpec {
  backend: VirtioBackendSpec;
  /** PCI slot on bus 0. */
  slot: number;
  /** Guest-physical address assigned to BAR 0 (as firmware would). */
  barGpa: number;
  numQueues: number;
  /** The transport's shared Int32Array state (virtio/shared_state.ts). */
  state: SharedArrayBuffer;
  /** Words: [0] reset requests, [1] reset acknowledged (device worker -> vCPU). */
  control: SharedArrayBuffer;
  /** One ioeventfd per queue: the guest's kick. */
  kickFds: number[];
  /** vCPU worker -> device worker: "look at the shared state" (activate, reset). */
  controlFd: number;
  /** One irqfd per MSI-X vector (queues + config). */
  msiFds: number[];
  /** Legacy INTx: irqfd and its resample fd, and the GSI it raises. */
  intxFd: number;
  intxResampleFd: number;
  intxGsi: number;
}

export const CONTROL_WORD = { RESET_REQUEST: 0, RESET_ACK: 1 } as const;

/** Creates the fds and shared memory for a device with `numQueues` queues. */
export function createVirtioSpec(backend: VirtioBackendSpec, numQueues: number, slot: number, barGpa: number, intxGsi: number): VirtioDeviceSpec {
  const ev = (): number => native.eventfd(0, EFD.NONBLOCK);
  const state = createSharedState(numQueues, true).buffer as SharedArrayBuffer;
  return {
    backend,
    slot,
    barGpa,
    numQueues,
    state,
    control: new SharedArrayBuffer(8),
    kickFds: Array.from({ length: numQueues }, ev),
    controlFd: ev(),
    msiFds: Array.from({ length: numQueues + 1 }, ev),
    intxFd: ev(),
    intxResampleFd: ev(),
    intxGsi,
  };
}
