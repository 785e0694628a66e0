// The vCPU worker thread: maps guest RAM, builds the devices the vCPU talks
// to (they live on this thread, so an exit never waits for another thread),
// and loops on KVM_RUN. It reports how the guest ended with one message.
import { parentPort, workerData } from 'node:worker_threads';
import { archByName } from '../arch/index.js';
import type { ArchName } from '../arch/arch.js';
import { Bus } from '../bus/bus.js';
import { VmFd } from '../kvm/vm.js';
import { VcpuFd } from '../kvm/vcpu.js';
import { GuestMemory, type GuestMemoryDescriptor } from '../memory/guest_memory.js';
import { FdWriter } from '../vmm/fd_writer.js';
import { SharedRing } from '../vmm/shared_ring.js';
import { runVcpu, type VcpuStop } from './run_loop.js';

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
  /** Set to 1 by the main thread once the process is sealed and the guest may run. */
  go: Int32Array;
}

export type VcpuWorkerMessage = { kind: 'ready' } | { kind: 'stopped'; stop: VcpuStop } | { kind: 'error'; message: string };

export const CONSOLE_FLAG = { RX_IRQ_ENABLED: 0 } as const;

function main(d: VcpuWorkerData): VcpuStop {
  const arch = archByName(d.arch);
  const memory = GuestMemory.map(d.memory);
  const vm = new VmFd(d.vmFd);
  const vcpu = new VcpuFd(d.vcpuFd, d.mmapSize);
  const pio = new Bus('port I/O');
  const mmio = new Bus('MMIO');
  const out = new FdWriter(d.stdoutFd);
  const ring = SharedRing.attach(d.consoleRing);
  const flags = new Int32Array(d.consoleFlags);
  let stop: VcpuStop | undefined;
  arch.createLegacyDevices({
    vm,
    memory,
    pio,
    mmio,
    console: {
      input: ring,
      output: (b) => out.put(b),
      rxInterruptEnabled: (on) => Atomics.store(flags, CONSOLE_FLAG.RX_IRQ_ENABLED, on ? 1 : 0),
    },
    requestStop: (s) => {
      stop ??= s;
    },
  });
  // Everything is set up: let the main thread install seccomp (TSYNC covers
  // this thread too) and switch the terminal, then run the guest.
  parentPort!.postMessage({ kind: 'ready' });
  Atomics.wait(d.go, 0, 0);
  const result = runVcpu(vcpu, pio, mmio, {
    afterExit: () => {
      if (out.pending > 0) out.flush();
    },
    stopRequest: () => stop,
    describeFailure: () => arch.describeVcpu(d.vcpuFd),
  });
  out.flush();
  return result;
}

if (parentPort) {
  let msg: VcpuWorkerMessage;
  try {
    msg = { kind: 'stopped', stop: main(workerData as VcpuWorkerData) };
  } catch (err) {
    msg = { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  parentPort.postMessage(msg);
}
