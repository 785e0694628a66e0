// vCPU 0's worker, started before the VM's configuration is known: the VMM
// process's entry (main.ts) starts it first thing, before it loads its own
// modules, so the worker's isolate and modules load beside the main
// thread's module loading, its wait for the configuration and the KVM
// set-up. startWorkers() (workers.ts) then takes it and hands it its data as
// its first message (vcpu/protocol.ts VCPU_STANDBY). This module stays
// small: it is on the path to that first thing.
import { Worker } from 'node:worker_threads';
import { VCPU_STANDBY } from '../vcpu/protocol.js';

export const VCPU_WORKER = new URL('../vcpu/worker.js', import.meta.url);

let standby: Worker | undefined;

export function prestartVcpuWorker(): void {
  standby ??= new Worker(VCPU_WORKER, { workerData: VCPU_STANDBY });
}

/** The standby worker, once (the next caller gets undefined). */
export function takeStandbyWorker(): Worker | undefined {
  const w = standby;
  standby = undefined;
  return w;
}
