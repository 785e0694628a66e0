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

export type { VmmHost };

/** One vCPU for now; the architecture's tables describe exactly one. */
const VCPU_COUNT = 1;

export async function runVmm(config: VmConfig, host: VmmHost): Promise<number> {
  const arch = await hostArch();
  if (config.cpus !== VCPU_COUNT) throw new RangeError(`--cpus ${config.cpus}: this build runs one vCPU`);
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
  const lifecycle = new VmLifecycle(host);
  const workers = startWorkers(prepared, machine, { outFd: host.consoleOutFd, line: host.consoleLine }, { log: host.log, stopped: (s) => lifecycle.stop(s) });
  void workers.ready.then(() => lifecycle.start(machine, workers, seal));
  return lifecycle.exited;
}
