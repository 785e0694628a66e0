// What the VMM's main thread and a vCPU worker (worker.ts) exchange: the
// worker's start-up data and its messages. Kept apart from worker.ts so that
// the main thread does not load (and compile) the worker's devices just to
// name these.
import type { GuestStop } from '../arch/arch.js';
import type { PlatformData } from '../platform/platform.js';

export interface VcpuWorkerData {
  /** The device side this thread builds and dispatches exits to. */
  platform: PlatformData;
  vcpuFd: number;
  /** Size of the kvm_run mapping (KVM_GET_VCPU_MMAP_SIZE). */
  mmapSize: number;
  /** Set to 1 by the main thread once the process is sealed and the guest may run. */
  go: Int32Array;
  /** The bounded log channel's words (devices/worker_log.ts); the main thread holds the other end. */
  log: SharedArrayBuffer;
}

export type VcpuWorkerMessage = { kind: 'ready' } | { kind: 'log'; line: string } | { kind: 'stopped'; stop: GuestStop } | { kind: 'error'; message: string };
