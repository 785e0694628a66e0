// What the VMM's main thread and a vCPU worker (worker.ts) exchange: the
// worker's start-up data and its messages. Kept apart from worker.ts so that
// the main thread does not load (and compile) the worker's devices just to
// name these.
import type { ArchName, GuestStop } from '../arch/arch.js';
import type { PlatformData } from '../platform/platform.js';

/**
 * Who owns the device models. With one vCPU its thread does (every exit is
 * handled in place); with several, the platform thread does and each vCPU
 * thread forwards its accesses through its exit mailbox slot.
 */
export type VcpuDevices = { kind: 'local'; platform: PlatformData } | { kind: 'remote'; arch: ArchName; mailbox: SharedArrayBuffer };

export interface VcpuWorkerData {
  /** vCPU id (0 is the boot CPU). */
  index: number;
  vcpuFd: number;
  /** Size of the kvm_run mapping (KVM_GET_VCPU_MMAP_SIZE). */
  mmapSize: number;
  devices: VcpuDevices;
  /** Run/pause/stop words of every vCPU (control.ts). */
  control: SharedArrayBuffer;
  vcpuCount: number;
  /** Exit counters of every vCPU (metrics.ts); this thread writes its row. */
  exits: SharedArrayBuffer;
  /** Set to 1 by the main thread once the process is sealed and the guest may run. */
  go: Int32Array;
  /** The bounded log channel's words (devices/worker_log.ts); the main thread holds the other end. */
  log: SharedArrayBuffer;
}

/**
 * workerData of a vCPU worker started before its data exists (vmm/workers.ts
 * prestartVcpuWorker): it loads its modules, then takes its VcpuWorkerData
 * from its first message.
 */
export const VCPU_STANDBY = 'vcpu-standby';

/** `ready` carries the thread's id, which the main thread kicks with tgkill. */
export type VcpuWorkerMessage = { kind: 'ready'; tid: number } | { kind: 'log'; line: string } | { kind: 'stopped'; stop: GuestStop } | { kind: 'error'; message: string };
