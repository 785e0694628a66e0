// Phase 2 of building a VM: the KVM machine. Opens /dev/kvm, creates the VM
// and its RAM, lets the architecture set up the interrupt controller, write
// the kernel and firmware tables and set up the vCPUs, then wires the
// interrupt lines (virtio INTx, the console kick) with irqfds.
import type { BootInfo } from '../arch/arch.js';
import { CONSOLE_FLAG_WORDS } from '../console/input.js';
import { SharedRing } from '../console/shared_ring.js';
import { Kvm } from '../kvm/system.js';
import type { VmFd } from '../kvm/vm.js';
import { GuestMemory, type GuestMemoryDescriptor } from '../memory/guest_memory.js';
import { native } from '../native/addon.js';
import { EFD } from '../native/linux.js';
import type { PreparedVm } from './prepare.js';

/** Console input buffered between the terminal and the UART. */
const CONSOLE_RING_BYTES = 4096;

export interface Machine {
  readonly kvm: Kvm;
  readonly vm: VmFd;
  readonly memory: GuestMemory;
  readonly memoryDescriptor: GuestMemoryDescriptor;
  readonly boot: BootInfo;
  /** vCPU fds, index = vCPU id. */
  readonly vcpuFds: readonly number[];
  /** Console input: the ring the UART reads, its flag words, and the eventfd that raises the UART's line. */
  readonly consoleRing: SharedRing;
  readonly consoleFlags: SharedArrayBuffer;
  readonly consoleKick: number;
}

export function createMachine(p: PreparedVm, log: (line: string) => void): Machine {
  const { arch, config } = p;
  const kvm = Kvm.open();
  kvm.requireExtensions(arch.requiredCaps);
  const vm = kvm.createVm();
  const { memory, descriptor } = GuestMemory.create(arch.ramRegions(config.memoryBytes));
  memory.slots().forEach((s, slot) => vm.setUserMemoryRegion(slot, s.gpa, s.size, native.address(s.buffer)));
  arch.setupVm(kvm, vm);
  if (p.quirk) log(p.quirk.notice);
  const boot = arch.loadKernel(memory, p.boot, { pci: p.virtio.map((v) => ({ slot: v.slot, gsi: v.intxGsi })) });

  const vcpuFds: number[] = [];
  for (let id = 0; id < config.cpus; id++) {
    const fd = vm.createVcpu(id);
    arch.setupVcpu(kvm, vm, fd, boot, config.cpuTemplate);
    vcpuFds.push(fd);
  }
  // The interrupt controller is complete only now (arm64's vGIC needs its
  // vCPUs first), and KVM attaches irqfds only to a complete one.
  arch.finishVm(kvm, vm, vcpuFds.length);
  for (const v of p.virtio) vm.irqfd(v.intxFd, v.intxGsi, { resampleFd: v.intxResampleFd });

  // Console input: terminal -> ring -> UART. A write to the kick eventfd
  // pulses the UART's interrupt line so an idle guest wakes.
  const consoleKick = native.eventfd(0, EFD.NONBLOCK);
  vm.irqfd(consoleKick, arch.consoleGsi);
  return {
    kvm,
    vm,
    memory,
    memoryDescriptor: descriptor,
    boot,
    vcpuFds,
    consoleRing: new SharedRing(CONSOLE_RING_BYTES),
    consoleFlags: new SharedArrayBuffer(4 * CONSOLE_FLAG_WORDS),
    consoleKick,
  };
}
