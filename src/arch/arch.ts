// The architecture interface. Generic code (the VMM builder, the vCPU worker)
// calls only these hooks; src/arch/x86_64 and src/arch/aarch64 implement them
// and are the only places that know guest addresses, registers, interrupt
// controllers and firmware tables (kvmtool's kvm__arch_*, kvm-host's vm_arch_*).
import type { Bus } from '../bus/bus.js';
import type { Kvm } from '../kvm/system.js';
import type { VmFd } from '../kvm/vm.js';
import type { GuestMemory } from '../memory/guest_memory.js';
import type { SerialInput } from '../devices/legacy/serial8250.js';
import type { GsiRoute } from '../kvm/vm.js';
import type { PciBus } from '../pci/pci_bus.js';
import type { AddressRange } from '../pci/bar_space.js';
import { TsvmmError } from '../base/errors.js';

export type { AddressRange };

export type ArchName = 'x86_64' | 'aarch64';

/**
 * Which CPU features the guest sees: `host` passes what KVM supports,
 * `baseline` hides what a conservative or migratable guest should not rely on.
 */
export type CpuTemplate = 'baseline' | 'host';

/** How the guest or the VMM ended the VM: the VMM's exit code and one line saying why. */
export interface GuestStop {
  code: number;
  reason: string;
}

/** What the kernel loader decided, as plain data (it crosses to the vCPU worker). */
export interface BootInfo {
  /** Human-readable kernel format, for the start-up line. */
  format: string;
  /** Architecture-specific entry state (registers, table addresses). */
  entry: Record<string, number>;
}

/** The result of prepareBoot: opaque to generic code, consumed by loadKernel. */
export interface BootPlan {
  /** e.g. "bzImage (boot protocol 2.15)" or "ELF vmlinux", for the start-up line. */
  readonly description: string;
}

/** Devices the firmware tables must describe. */
export interface PlatformDevices {
  pci: Array<{ slot: number; gsi: number }>;
  /** Each vCPU's hardware id as initVcpu returned it (x86: APIC id; arm64: MPIDR), index = vCPU id. */
  cpus: number[];
}

export interface KernelImages {
  kernel: Uint8Array;
  initrd: Uint8Array | undefined;
  cmdline: string;
}

/** Where the machine's interrupt lines and legacy devices are, for the worker. */
export interface MachineContext {
  vm: VmFd;
  memory: GuestMemory;
  pio: Bus;
  mmio: Bus;
  console: {
    input: SerialInput;
    output(byte: number): void;
    /** The guest enabled/disabled the console's receive interrupt. */
    rxInterruptEnabled(on: boolean): void;
  };
  requestStop(stop: GuestStop): void;
}

/** The machine cannot have what the configuration asks for (too many vCPUs for its interrupt controller...). */
export class ArchLimitError extends TsvmmError {}

export interface HostQuirk {
  /** Kernel command-line options added for this host. */
  cmdline: string;
  /** One line telling the user what was added and why. */
  notice: string;
}

/**
 * The part of an architecture the vCPU thread needs: the machine's legacy
 * devices, how the PCI bus is reached, the interrupt routing, and a vCPU's
 * state for a failure line. Each architecture keeps it in its machine.ts,
 * which the vCPU worker loads alone (without the kernel loaders and boot
 * code: every worker compiles what it imports at start-up).
 */
export interface MachineArch {
  readonly name: ArchName;
  /** The irqchip routes KVM starts with (KVM_SET_GSI_ROUTING replaces them all). */
  defaultGsiRoutes(): GsiRoute[];
  /** First GSI free for MSI routes. */
  readonly firstMsiGsi: number;
  /**
   * Guest-physical ranges that are neither RAM nor on the MMIO bus but that
   * a PCI BAR must not cover: what KVM itself decodes there (in-kernel
   * interrupt controllers) and its private pages. A BAR the guest moves onto
   * one (or onto RAM, or onto anything on the MMIO bus) is not decoded until
   * it moves again (pci/bar_space.ts).
   */
  readonly reservedRanges: readonly AddressRange[];
  /** On the vCPU worker: makes the PCI bus's configuration space reachable (CF8/CFC, ECAM). */
  attachPciBus(ctx: MachineContext, bus: PciBus): void;
  /** On the vCPU worker: creates the legacy devices (console, reset) on the buses. */
  createLegacyDevices(ctx: MachineContext): void;
  /** A short description of the vCPU's state for a failure line (e.g. "RIP 0x..."). */
  describeVcpu(vcpuFd: number): string;
}

/** The whole architecture, as the VMM's main thread uses it. */
export interface Arch extends MachineArch {
  /** KVM capabilities the VMM cannot work without, by name. */
  readonly requiredCaps: Readonly<Record<string, number>>;
  /** The GSI the console UART interrupts on (used for irqfd kicks). */
  readonly consoleGsi: number;
  /** Guest RAM layout for a RAM size. */
  ramRegions(memoryBytes: number): Array<{ gpa: number; size: number }>;
  /** Options always on the kernel command line (console, panic, ...). */
  baseCmdline(): string;
  /** Extra options a quirky host needs (e.g. a nested PVM host), or undefined. */
  hostQuirk(): HostQuirk | undefined;
  /**
   * After KVM_CREATE_VM: interrupt controller, timers, reserved addresses.
   * Throws an ArchLimitError if this machine cannot have `vcpus` vCPUs.
   */
  setupVm(kvm: Kvm, vm: VmFd, vcpus: number): void;
  /**
   * Parses and checks the kernel and initrd for a RAM size and decides where
   * everything goes: pure, so bad input fails before /dev/kvm is touched.
   */
  prepareBoot(images: KernelImages, memoryBytes: number): BootPlan;
  /** Writes the planned kernel, initrd, command line and firmware tables (which list `platform`'s devices) into guest RAM. */
  loadKernel(memory: GuestMemory, plan: BootPlan, platform: PlatformDevices): BootInfo;
  /** Guest-physical window where the VMM places PCI BARs. */
  readonly pciMmioWindow: { start: number; end: number };
  /** The GSI a PCI slot's INTA# line raises. */
  pciIntxGsi(slot: number): number;
  /**
   * Right after KVM_CREATE_VCPU of vCPU `id` (every vCPU is created before the
   * kernel is loaded): its architectural init. Returns its hardware id for
   * the firmware tables (x86: the APIC id; arm64: MPIDR_EL1's affinity).
   */
  initVcpu(kvm: Kvm, vm: VmFd, vcpuFd: number, id: number, count: number): number;
  /**
   * After the kernel is loaded: vCPU `id`'s CPUID, MSRs and the like, and for
   * the boot vCPU (id 0) the entry registers. The others wait for the guest to
   * start them (x86: INIT/SIPI through the in-kernel LAPIC; arm64: PSCI CPU_ON).
   */
  setupVcpu(kvm: Kvm, vm: VmFd, vcpuFd: number, id: number, count: number, boot: BootInfo, cpuTemplate: CpuTemplate | undefined): void;
  /**
   * After every vCPU is created and set up, before any irqfd is attached:
   * finishes what needs the vCPUs to exist (arm64: the vGIC's redistributors
   * and its KVM_DEV_ARM_VGIC_CTRL_INIT, without which KVM refuses irqfds).
   */
  finishVm(kvm: Kvm, vm: VmFd, vcpuCount: number): void;
}
