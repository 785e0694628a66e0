// The vCPU worker thread: maps guest RAM, builds the devices the vCPU talks
// to (they live on this thread, so an exit never waits for another thread),
// and loops on KVM_RUN. It reports how the guest ended with one message.
import { parentPort, workerData } from 'node:worker_threads';
import { loadMachineArch } from '../arch/index.js';
import type { MachineArch, MachineContext } from '../arch/arch.js';
import { Bus } from '../bus/bus.js';
import { VmFd } from '../kvm/vm.js';
import { VcpuFd } from '../kvm/vcpu.js';
import { GuestMemory } from '../memory/guest_memory.js';
import { FdWriter } from '../vmm/fd_writer.js';
import { SharedRing } from '../vmm/shared_ring.js';
import { runVcpu, type VcpuStop } from './run_loop.js';
import { PciBus } from '../pci/pci_bus.js';
import { PCI_REG, PCI_COMMAND } from '../pci/constants.js';
import { VirtioPciTransport } from '../devices/virtio/pci_transport.js';
import { loadVirtioKind, type VirtioKind } from '../vmm/virtio_runtime.js';
import { GsiRouter } from '../vmm/gsi_router.js';
import { VirtioPciHost } from '../vmm/virtio_pci_host.js';
import { CONSOLE_FLAG, type VcpuWorkerData, type VcpuWorkerMessage } from './protocol.js';


function main(d: VcpuWorkerData, arch: MachineArch, kinds: readonly VirtioKind[]): VcpuStop {
  const memory = GuestMemory.map(d.memory);
  const vm = new VmFd(d.vmFd);
  const vcpu = new VcpuFd(d.vcpuFd, d.mmapSize);
  const pio = new Bus('port I/O');
  const mmio = new Bus('MMIO');
  const out = new FdWriter(d.stdoutFd);
  const ring = SharedRing.attach(d.consoleRing);
  const flags = new Int32Array(d.consoleFlags);
  let stop: VcpuStop | undefined;
  const ctx: MachineContext = {
    vm,
    memory,
    pio,
    mmio,
    console: {
      input: ring,
      output: (b) => out.put(b),
      rxInterruptEnabled: (on) => Atomics.store(flags, CONSOLE_FLAG.RX_IRQ_ENABLED, on ? 1 : 0),
    },
    requestStop: (s: VcpuStop) => {
      stop ??= s;
    },
  };
  arch.createLegacyDevices(ctx);
  if (d.virtio.length > 0) {
    const log = (line: string): void => parentPort!.postMessage({ kind: 'log', line });
    const router = new GsiRouter(vm, arch.defaultGsiRoutes(), arch.firstMsiGsi);
    const pci = new PciBus();
    arch.attachPciBus(ctx, pci);
    for (const [i, spec] of d.virtio.entries()) {
      const device = kinds[i]!.createDeviceModel(spec.backend, log);
      const host = new VirtioPciHost(vm, mmio, router, spec, log);
      const transport = new VirtioPciTransport(device, new Int32Array(spec.state), host);
      host.attach(transport);
      pci.add(transport, spec.slot);
      // What firmware would do: route INTA#, assign BAR 0, enable decoding.
      transport.config.write(PCI_REG.INTERRUPT_LINE, 1, spec.intxGsi);
      transport.config.setBarAddress(0, spec.barGpa);
      transport.config.write(PCI_REG.COMMAND, 2, PCI_COMMAND.MEMORY);
    }
  }
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
    // Only the modules this VM needs: the machine side of the host's
    // architecture (no kernel loaders), its devices' kinds.
    const d = workerData as VcpuWorkerData;
    const kinds = await Promise.all(d.virtio.map((v) => loadVirtioKind(v.backend.kind)));
    msg = { kind: 'stopped', stop: main(d, await loadMachineArch(d.arch), kinds) };
  } catch (err) {
    msg = { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  parentPort.postMessage(msg);
}
