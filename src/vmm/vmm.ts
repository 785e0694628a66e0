// The builder: turns a VmConfig into a running VM, in phases (each its own
// module): prepare (files, command line, devices; nothing touches KVM yet),
// create the machine (KVM, RAM, kernel, vCPUs, interrupt wiring), start the
// threads (vCPUs, device queues), then the lifecycle runs the guest until it
// stops or the user quits. With --seccomp the process is sealed between the
// last two.
import { hostArch } from '../arch/index.js';
import type { VmConfig } from './config.js';
import type { VmmHost } from './host.js';
import { VmLifecycle } from './lifecycle.js';
import { createMachine } from './machine.js';
import { prepareVm } from './prepare.js';
import { startWorkers } from './workers.js';
import type { VmMetrics } from './ipc.js';
import { snapshotMetrics } from './metrics.js';
import { startupMark } from '../native/startup_trace.js';

export type { VmmHost };

/** A running VM, as the VMM process's main module steers it. */
export interface VmHandle {
  /** The exit code, once the VM has ended and its vCPU threads have stopped. */
  readonly exited: Promise<number>;
  /** Holds every vCPU and device queue; false when the VM was not running. */
  pause(): Promise<boolean>;
  resume(): boolean;
  /** Ends the VM (as Ctrl-A x does): exit code 0. */
  stop(reason: string): void;
  metrics(): VmMetrics;
}

export async function runVmm(config: VmConfig, host: VmmHost): Promise<number> {
  return (await startVmm(config, host)).exited;
}

/** Builds the VM and starts it running; rejects when it cannot be built (a bad file, no KVM...). */
export async function startVmm(config: VmConfig, host: VmmHost): Promise<VmHandle> {
  const arch = await hostArch();
  // The seccomp code and tables only when asked for, and before the seal:
  // nothing is loaded after it.
  const mode = config.seccomp;
  // SIGUSR1 must not start Node's inspector in a process that will be sealed:
  // from the moment we know it will be (see sandbox/inspector.ts).
  const seal =
    mode === 'off'
      ? undefined
      : await import('./seal.js').then((m) => {
          m.keepInspectorClosed(host.log);
          return () => m.sealProcess(arch.name, mode, host.log);
        });
  const prepared = prepareVm(config, arch, host.log);
  const machine = createMachine(prepared, host.log);
  startupMark('vmm', 'machine-created');
  const lifecycle = new VmLifecycle(host);
  const threads = startWorkers(prepared, machine, { outFd: host.consoleOutFd, line: host.consoleLine }, { log: host.log, stopped: (s) => lifecycle.stop(s) });
  lifecycle.attach(threads);
  startupMark('vmm', 'workers-started');
  void threads.ready.then(() => {
    startupMark('vmm', 'workers-ready');
    lifecycle.start(machine, seal);
    startupMark('vmm', 'go');
  });
  return {
    exited: lifecycle.exited,
    pause: () => lifecycle.pause(),
    resume: () => lifecycle.resume(),
    stop: (reason) => lifecycle.stop({ code: 0, reason }),
    metrics: () => snapshotMetrics(threads.exits, config.cpus, prepared.virtio),
  };
}
