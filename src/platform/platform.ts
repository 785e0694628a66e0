// The emulated machine's device side: the port-I/O and MMIO buses, the
// architecture's legacy devices (console UART, reset line), the PCI bus with
// one virtio-pci transport per device, placed as firmware would. Built from
// plain data on the thread that owns these devices (the vCPU thread of a
// one-vCPU VM); vCPU exits are dispatched to its buses.
import { loadMachineArch } from '../arch/index.js';
import type { ArchName, GuestStop, MachineArch, MachineContext } from '../arch/arch.js';
import { Bus } from '../bus/bus.js';
import { FdWriter } from '../console/fd_writer.js';
import { ConsoleLine } from '../console/line_state.js';
import { CONSOLE_FLAG } from '../console/input.js';
import { SharedRing } from '../console/shared_ring.js';
import { VirtioPciTransport, VIRTIO_BAR } from '../devices/virtio/pci_transport.js';
import { VirtioPciHost } from '../devices/virtio/pci_host.js';
import { loadVirtioModel } from '../devices/virtio/kinds.js';
import type { VirtioDeviceSpec } from '../devices/virtio/spec.js';
import { GsiRouter } from '../kvm/gsi_router.js';
import { VmFd } from '../kvm/vm.js';
import { GuestMemory, type GuestMemoryDescriptor } from '../memory/guest_memory.js';
import { BarSpace, type AddressRange } from '../pci/bar_space.js';
import { assignPciResources } from '../pci/firmware.js';
import { PciBus } from '../pci/pci_bus.js';

/** The console's shared pieces: input ring and flag words (console/input.ts), and the output fd. */
export interface ConsoleWiring {
  readonly ring: SharedArrayBuffer;
  readonly flags: SharedArrayBuffer;
  readonly outFd: number;
  /** The cursor state shared with tsvmm's own lines, when they go to the same file (console/line_state.ts). */
  readonly line: SharedArrayBuffer | undefined;
}

/** Everything needed to build the platform on another thread (structured-cloneable). */
export interface PlatformData {
  readonly arch: ArchName;
  readonly vmFd: number;
  readonly memory: GuestMemoryDescriptor;
  readonly console: ConsoleWiring;
  readonly virtio: readonly VirtioDeviceSpec[];
}

export interface Platform {
  readonly arch: MachineArch;
  readonly pio: Bus;
  readonly mmio: Bus;
  /** After each exit the platform handled: the console's output goes out. */
  afterExit(): void;
  /** Set once a device asked the VM to stop (the i8042 reset line, ...). */
  stopRequest(): GuestStop | undefined;
}

export async function createPlatform(d: PlatformData, log: (line: string) => void): Promise<Platform> {
  const arch = await loadMachineArch(d.arch);
  const models = await Promise.all(d.virtio.map((v) => loadVirtioModel(v.backend.kind)));
  const vm = new VmFd(d.vmFd);
  const pio = new Bus('port I/O');
  const mmio = new Bus('MMIO');
  const out = new FdWriter(d.console.outFd, undefined, d.console.line === undefined ? undefined : new ConsoleLine(d.console.line));
  const flags = new Int32Array(d.console.flags);
  let stop: GuestStop | undefined;
  const ctx: MachineContext = {
    vm,
    memory: GuestMemory.map(d.memory),
    pio,
    mmio,
    console: {
      input: SharedRing.attach(d.console.ring),
      output: (b) => out.put(b),
      rxInterruptEnabled: (on) => Atomics.store(flags, CONSOLE_FLAG.RX_IRQ_ENABLED, on ? 1 : 0),
    },
    requestStop: (s) => {
      stop ??= s;
    },
  };
  arch.createLegacyDevices(ctx);
  if (d.virtio.length > 0) {
    const router = new GsiRouter(vm, arch.defaultGsiRoutes(), arch.firstMsiGsi);
    const pci = new PciBus();
    arch.attachPciBus(ctx, pci);
    const ram: AddressRange[] = ctx.memory.slots().map((s) => ({ start: s.gpa, end: s.gpa + s.size, name: 'guest RAM' }));
    const bars = new BarSpace(mmio, [...ram, ...arch.reservedRanges], log);
    d.virtio.forEach((spec, i) => {
      const host = new VirtioPciHost(vm, mmio, bars, router, spec, log);
      const transport = new VirtioPciTransport(models[i]!(spec.backend, log), new Int32Array(spec.state), host);
      host.attach(transport);
      pci.add(transport, spec.slot);
      assignPciResources(transport.config, { bars: [[VIRTIO_BAR.INDEX, spec.barGpa]], intxLine: spec.intxGsi });
    });
  }
  return {
    arch,
    pio,
    mmio,
    afterExit: () => {
      if (out.pending > 0) out.flush();
    },
    stopRequest: () => stop,
  };
}
