// Phase 2 of building a VM: the KVM machine. Opens /dev/kvm, creates the VM
// and its RAM, lets the architecture set up the interrupt controller, write
// the kernel and firmware tables and set up the vCPUs, then wires the
// interrupt lines (virtio INTx, the console kick) with irqfds.
import { ArchLimitError, type BootInfo } from '../arch/arch.js';
import { CONSOLE_FLAG_WORDS } from '../console/input.js';
import { SharedRing } from '../console/shared_ring.js';
import { Kvm } from '../kvm/system.js';
import { KVM_CAP } from '../kvm/generated/uapi.js';
import type { VmFd } from '../kvm/vm.js';
import { GuestMemory, type GuestMemoryDescriptor } from '../memory/guest_memory.js';
import { native } from '../native/addon.js';
import { EFD } from '../native/linux.js';
import { ConfigError, MAX_VCPUS } from './config.js';
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
  const maxVcpus = kvmMaxVcpus(kvm);
  if (config.cpus > maxVcpus) throw new ConfigError(`--cpus ${config.cpus}: this host's KVM runs at most ${maxVcpus} vCPUs in a VM`);
  const vm = kvm.createVm();
  const { memory, descriptor } = GuestMemory.create(arch.ramRegions(config.memoryBytes));
  memory.slots().forEach((s, slot) => vm.setUserMemoryRegion(slot, s.gpa, s.size, native.address(s.buffer)));
  try {
    arch.setupVm(kvm, vm, config.cpus);
  } catch (err) {
    if (err instanceof ArchLimitError) throw new ConfigError(`--cpus ${config.cpus}: ${err.message}`);
    throw err;
  }
  if (p.quirk) log(p.quirk.notice);

  // Every vCPU exists before the kernel is loaded: the firmware tables list
  // them by hardware id (arm64 reads each MPIDR back from KVM).
  const vcpuFds: number[] = [];
  const cpus: number[] = [];
  for (let id = 0; id < config.cpus; id++) {
    const fd = vm.createVcpu(id);
    cpus.push(arch.initVcpu(kvm, vm, fd, id, config.cpus));
    vcpuFds.push(fd);
  }
  const boot = arch.loadKernel(memory, p.boot, { pci: p.virtio.map((v) => ({ slot: v.slot, gsi: v.intxGsi })), cpus });
  vcpuFds.forEach((fd, id) => arch.setupVcpu(kvm, vm, fd, id, vcpuFds.length, boot, config.cpuTemplate));
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

/**
 * The most vCPUs this VM may have: MAX_VCPUS, or fewer if KVM says so
 * (KVM_CAP_MAX_VCPUS; KVM_CAP_NR_VCPUS on old kernels, 4 without either: api.rst).
 */
export function kvmMaxVcpus(kvm: Pick<Kvm, 'checkExtension'>): number {
  const max = kvm.checkExtension(KVM_CAP.MAX_VCPUS);
  const nr = kvm.checkExtension(KVM_CAP.NR_VCPUS);
  const limit = max > 0 ? max : nr > 0 ? nr : 4;
  return Math.min(MAX_VCPUS, limit);
}
