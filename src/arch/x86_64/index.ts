// The x86_64 implementation of the Arch interface: the PC platform with
// KVM's in-kernel PIC/IOAPIC/LAPIC and PIT, an MP table, the Linux 64-bit boot
// protocol (bzImage or ELF vmlinux); the vCPU thread's part (COM1, the i8042
// reset line, PCI configuration ports, interrupt routing) is machine.ts.
import { existsSync } from 'node:fs';
import { ArchLimitError, type Arch, type BootInfo, type BootPlan, type CpuTemplate, type KernelImages, type PlatformDevices } from '../arch.js';
import { KVM_CAP, KVM_PIT_SPEAKER_DUMMY } from '../../kvm/generated/uapi.js';
import type { Kvm } from '../../kvm/system.js';
import type { VmFd } from '../../kvm/vm.js';
import type { GuestMemory } from '../../memory/guest_memory.js';
import { parseBzImage, XLOADFLAGS, type BzImage } from '../../loader/bzimage.js';
import { parseElf64, loadElf, EM, type Elf64 } from '../../loader/elf.js';
import { detectKernelFormat } from '../../loader/kernel.js';
import { KernelFormatError } from '../../loader/errors.js';
import { PC_COM1 } from '../../devices/legacy/serial8250.js';
import { LAYOUT } from './layout.js';
import { ramRegions, lowRamEnd, e820Map } from './e820.js';
import { buildBootParams, bzImageMemoryEnd, placeInitrd, encodeCmdline, DEFAULT_CMDLINE_SIZE, DEFAULT_INITRD_ADDR_MAX } from './boot_params.js';
import { setupLongMode, longModeSregs, bootRegs, bzImageEntry } from './boot_cpu.js';
import { writeMpTable } from './mptable.js';
import { buildGuestCpuid } from './cpuid.js';
import { bootMsrs } from './msrs.js';
import { applyCpuid, applyFpu, applyLapicLints, applyMsrs, applyRegs, applySregs, parseCpuid2 } from './kvm_state.js';
import { pvmHostQuirk } from './pvm.js';
import { PCI_INTX_FIRST_PIN, PCI_INTX_PINS, x86_64Machine } from './machine.js';

interface X86BootPlan extends BootPlan {
  readonly bz: BzImage | undefined;
  readonly elf: Elf64 | undefined;
  readonly entry: number;
  readonly initrd: { addr: number; bytes: Uint8Array } | undefined;
  readonly cmdline: Uint8Array;
  readonly memoryBytes: number;
}

/** Most vCPUs: the MP table for them must fit the 1 KiB Linux scans at the EBDA (mptable.ts). */
const MAX_X86_VCPUS = 32;

const MACHINE_NAMES: Record<number, string> = { [EM.X86_64]: 'x86_64', [EM.AARCH64]: 'aarch64', 3: 'i386', 40: 'arm', 243: 'riscv' };

function prepareBoot(images: KernelImages, memoryBytes: number): X86BootPlan {
  const lowEnd = lowRamEnd(memoryBytes);
  const format = detectKernelFormat(images.kernel);
  let bz: BzImage | undefined;
  let elf: Elf64 | undefined;
  let kernelEnd: number;
  let entry: number;
  let description: string;
  let cmdlineSize = DEFAULT_CMDLINE_SIZE;
  let initrdAddrMax = DEFAULT_INITRD_ADDR_MAX;
  if (format === 'bzimage') {
    bz = parseBzImage(images.kernel);
    if ((bz.xloadflags & XLOADFLAGS.XLF_KERNEL_64) === 0) {
      throw new KernelFormatError('this bzImage has no 64-bit entry point (XLF_KERNEL_64 is clear): a 32-bit kernel cannot boot here');
    }
    kernelEnd = bzImageMemoryEnd(bz);
    entry = bzImageEntry();
    cmdlineSize = bz.cmdlineSize;
    initrdAddrMax = bz.initrdAddrMax;
    description = `bzImage (boot protocol ${bz.version >> 8}.${(bz.version & 0xff).toString().padStart(2, '0')}${bz.kernelVersion ? `, ${bz.kernelVersion.split(' ')[0]}` : ''})`;
  } else if (format === 'elf') {
    elf = parseElf64(images.kernel);
    if (elf.machine !== EM.X86_64) {
      const name = MACHINE_NAMES[elf.machine] ?? `machine ${elf.machine}`;
      throw new KernelFormatError(`an ELF kernel for ${name} (e_machine ${elf.machine}); this x86_64 host needs an x86_64 kernel`);
    }
    let lo = Infinity;
    kernelEnd = 0;
    for (const s of elf.segments) {
      if (s.paddr > BigInt(Number.MAX_SAFE_INTEGER)) throw new KernelFormatError(`ELF segment at physical address 0x${s.paddr.toString(16)} is not a physical address`);
      const p = Number(s.paddr);
      lo = Math.min(lo, p);
      kernelEnd = Math.max(kernelEnd, p + s.memsz);
    }
    if (elf.segments.length === 0) throw new KernelFormatError('ELF kernel has no PT_LOAD segment');
    if (lo < LAYOUT.HIMEM_START) {
      throw new KernelFormatError(`ELF kernel loads at 0x${lo.toString(16)}, below 1 MiB where the boot tables live`);
    }
    if (elf.entry > BigInt(kernelEnd) || elf.entry < BigInt(lo)) throw new KernelFormatError(`ELF entry point 0x${elf.entry.toString(16)} is outside the loaded segments`);
    entry = Number(elf.entry);
    description = 'ELF vmlinux';
  } else if (format === 'arm64-image') {
    throw new KernelFormatError('an arm64 Image cannot boot on this x86_64 host');
  } else {
    throw new KernelFormatError('not a kernel tsvmm can boot: neither a bzImage (no "HdrS" header) nor an ELF vmlinux');
  }
  if (kernelEnd > lowEnd) {
    throw new KernelFormatError(`the kernel needs RAM up to 0x${kernelEnd.toString(16)} but the guest has ${memoryBytes >> 20} MiB: give it more with -m`);
  }
  let initrd: X86BootPlan['initrd'];
  if (images.initrd !== undefined) {
    const addr = placeInitrd({ size: images.initrd.length, kernelEnd, initrdAddrMax, lowRamEnd: lowEnd });
    initrd = { addr, bytes: images.initrd };
  }
  return { description, bz, elf, entry, initrd, cmdline: encodeCmdline(images.cmdline, cmdlineSize), memoryBytes };
}

function loadKernel(memory: GuestMemory, p: BootPlan, platform: PlatformDevices): BootInfo {
  const plan = p as X86BootPlan;
  if (plan.bz !== undefined) memory.write(LAYOUT.KERNEL_START, plan.bz.kernel);
  if (plan.elf !== undefined) loadElf(memory, plan.elf);
  if (plan.initrd !== undefined) memory.write(plan.initrd.addr, plan.initrd.bytes);
  memory.write(LAYOUT.CMDLINE_START, plan.cmdline);
  const zeroPage = buildBootParams({
    setupHeader: plan.bz?.setupHeader,
    cmdlineAddr: LAYOUT.CMDLINE_START,
    initrd: plan.initrd && { addr: plan.initrd.addr, size: plan.initrd.bytes.length },
    e820: e820Map(plan.memoryBytes),
  });
  memory.write(LAYOUT.ZERO_PAGE_START, zeroPage);
  writeMpTable(memory, { cpus: platform.cpus.length, pciRoutes: platform.pci.map((d) => ({ device: d.slot, pin: 0, ioapicPin: d.gsi })) });
  const sregs = setupLongMode(memory);
  const regs = bootRegs(plan.entry);
  return {
    format: plan.description,
    entry: { ...regs, cr3: sregs.cr3, gdtBase: sregs.gdt.base, gdtLimit: sregs.gdt.limit, idtBase: sregs.idt.base, idtLimit: sregs.idt.limit },
  };
}

/**
 * Every vCPU gets its CPUID (its own APIC id; each vCPU is a package of its
 * own, as the MP table lists it), the boot MSRs and LINT0/LINT1 wiring. Only
 * the boot vCPU gets registers: with the in-kernel LAPIC the others wait for
 * INIT/SIPI (KVM_MP_STATE_UNINITIALIZED), which replaces their registers.
 */
function setupVcpu(kvm: Kvm, _vm: VmFd, vcpuFd: number, id: number, _count: number, boot: BootInfo, cpuTemplate: CpuTemplate | undefined): void {
  const cpuid = buildGuestCpuid(parseCpuid2(kvm.supportedCpuid()), { apicId: id, template: cpuTemplate ?? 'host' });
  applyCpuid(vcpuFd, cpuid);
  applyMsrs(vcpuFd, bootMsrs());
  applyLapicLints(vcpuFd);
  if (id !== 0) return;
  const e = boot.entry as Record<string, number>;
  const need = (k: string): number => {
    const v = e[k];
    if (v === undefined) throw new Error(`boot info lacks ${k}`);
    return v;
  };
  applySregs(vcpuFd, longModeSregs({ base: need('gdtBase'), limit: need('gdtLimit') }, { base: need('idtBase'), limit: need('idtLimit') }, need('cr3')));
  applyRegs(vcpuFd, { rip: need('rip'), rsp: need('rsp'), rbp: need('rbp'), rsi: need('rsi'), rflags: need('rflags') });
  applyFpu(vcpuFd);
}

export const x86_64: Arch = {
  ...x86_64Machine,
  requiredCaps: {
    IRQCHIP: KVM_CAP.IRQCHIP,
    USER_MEMORY: KVM_CAP.USER_MEMORY,
    SET_TSS_ADDR: KVM_CAP.SET_TSS_ADDR,
    EXT_CPUID: KVM_CAP.EXT_CPUID,
    PIT2: KVM_CAP.PIT2,
    IRQ_ROUTING: KVM_CAP.IRQ_ROUTING,
    IRQFD: KVM_CAP.IRQFD,
    IOEVENTFD: KVM_CAP.IOEVENTFD,
  },
  consoleGsi: PC_COM1.irq,
  ramRegions: (bytes) => ramRegions(bytes).map((r) => ({ gpa: r.gpa, size: r.size })),
  // reboot=k: reboot through the i8042 (our reset line); panic=1: a panicking
  // guest reboots, so the VMM exits instead of hanging; io_delay=none: no
  // port-0x80 write (a VM exit) after every legacy port access; the i8042
  // options skip probing a keyboard and mouse that do not exist.
  baseCmdline: () => 'console=ttyS0 reboot=k panic=1 io_delay=none i8042.nokbd i8042.noaux',
  hostQuirk: () => pvmHostQuirk(existsSync),
  setupVm(_kvm: Kvm, vm: VmFd, vcpus: number): void {
    // xAPIC ids are 8 bits and 0xff is broadcast; the MP table holds what fits the EBDA.
    if (vcpus > MAX_X86_VCPUS) throw new ArchLimitError(`an x86_64 guest here has at most ${MAX_X86_VCPUS} vCPUs, not ${vcpus}`);
    vm.setTssAddr(LAYOUT.KVM_TSS_ADDRESS);
    vm.setIdentityMapAddr(LAYOUT.KVM_IDENTITY_MAP_START);
    vm.createIrqchip();
    vm.createPit2(KVM_PIT_SPEAKER_DUMMY);
  },
  prepareBoot,
  loadKernel,
  pciMmioWindow: { start: LAYOUT.PCI_MMIO32_START, end: LAYOUT.PCI_MMIO32_END },
  pciIntxGsi: (slot) => PCI_INTX_FIRST_PIN + (slot % PCI_INTX_PINS),
  // The APIC id is the vCPU id (KVM's default for an in-kernel LAPIC).
  initVcpu: (_kvm, _vm, _fd, id) => id,
  setupVcpu,
  // The PIC, IOAPIC and PIT were complete in setupVm.
  finishVm: () => undefined,
};
