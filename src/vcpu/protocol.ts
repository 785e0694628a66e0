// What the VMM's main thread and the vCPU worker (worker.ts) exchange: the
// worker's start-up data, its messages, and the console flag words. Kept
// apart from worker.ts so that the main thread does not load (and compile)
// the worker's devices just to name these.
import type { ArchName } from '../arch/arch.js';
import type { GuestMemoryDescriptor } from '../memory/guest_memory.js';
import type { VirtioDeviceSpec } from '../vmm/virtio_spec.js';
import type { VcpuStop } from './run_loop.js';

export interface VcpuWorkerData {
  arch: ArchName;
  vmFd: number;
  vcpuFd: number;
  mmapSize: number;
  memory: GuestMemoryDescriptor;
  consoleRing: SharedArrayBuffer;
  /** Int32Array words: [0] = the guest enabled the console RX interrupt. */
  consoleFlags: SharedArrayBuffer;
  stdoutFd: number;
  /** virtio-pci devices to put on the PCI bus. */
  virtio: VirtioDeviceSpec[];
  /** Set to 1 by the main thread once the process is sealed and the guest may run. */
  go: Int32Array;
}

export type VcpuWorkerMessage = { kind: 'ready' } | { kind: 'log'; line: string } | { kind: 'stopped'; stop: VcpuStop } | { kind: 'error'; message: string };

export const CONSOLE_FLAG = { RX_IRQ_ENABLED: 0 } as const;
