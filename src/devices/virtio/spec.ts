// One virtio-pci device as plain data: what the main thread creates
// (eventfds, shared memory) and hands to the vCPU side (which runs the PCI
// transport, pci_host.ts) and to the device's own queue worker (worker.ts).
import { native } from '../../native/addon.js';
import { EFD } from '../../native/linux.js';
import { createSharedState } from './shared_state.js';
import { createDeviceCounters } from './metrics.js';
import type { BlockBackendSpec } from './block/spec.js';
import type { NetBackendSpec } from './net/spec.js';

export type { BlockBackendSpec, NetBackendSpec };
export type VirtioBackendSpec = BlockBackendSpec | NetBackendSpec;
export type VirtioKindName = VirtioBackendSpec['kind'];

/** Where the device sits on the PCI bus, as firmware would assign it. */
export interface PciPlacement {
  /** Slot on bus 0. */
  readonly slot: number;
  /** Guest-physical address of BAR 0. */
  readonly barGpa: number;
  /** The GSI its INTA# raises. */
  readonly intxGsi: number;
}

export interface VirtioDeviceSpec extends PciPlacement {
  readonly backend: VirtioBackendSpec;
  readonly numQueues: number;
  /** The transport's shared Int32Array state (shared_state.ts). */
  readonly state: SharedArrayBuffer;
  /** Words: CONTROL_WORD (reset handshake, pause). */
  readonly control: SharedArrayBuffer;
  /** One ioeventfd per queue: the guest's kick. */
  readonly kickFds: readonly number[];
  /** vCPU side or main thread -> device worker: "look at the control words" (activate, reset, pause). */
  readonly controlFd: number;
  /** One irqfd per MSI-X vector (queues + config). */
  readonly msiFds: readonly number[];
  /** Legacy INTx: irqfd and its resample fd. */
  readonly intxFd: number;
  readonly intxResampleFd: number;
  /** The device's counters (metrics.ts), written by its queue worker. */
  readonly counters: SharedArrayBuffer;
}

/**
 * Control words. RESET_REQUEST/RESET_ACK: the vCPU side bumps the request and
 * waits for the worker to acknowledge it (the worker has let go of the
 * queues). PAUSE: 1 while the VM is paused (the worker stops touching guest
 * memory and the backend); PAUSE_ACK: the worker's copy once it holds.
 */
export const CONTROL_WORD = { RESET_REQUEST: 0, RESET_ACK: 1, PAUSE: 2, PAUSE_ACK: 3 } as const;
const CONTROL_WORDS = 4;

/** Creates the fds and shared memory for a device with `numQueues` queues at `placement`. */
export function createVirtioSpec(backend: VirtioBackendSpec, numQueues: number, placement: PciPlacement): VirtioDeviceSpec {
  const ev = (): number => native.eventfd(0, EFD.NONBLOCK);
  return {
    backend,
    ...placement,
    numQueues,
    state: createSharedState(numQueues, true).buffer as SharedArrayBuffer,
    control: new SharedArrayBuffer(4 * CONTROL_WORDS),
    kickFds: Array.from({ length: numQueues }, ev),
    controlFd: ev(),
    msiFds: Array.from({ length: numQueues + 1 }, ev),
    intxFd: ev(),
    intxResampleFd: ev(),
    counters: createDeviceCounters(),
  };
}
