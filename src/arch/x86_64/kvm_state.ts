// Serialises the boot CPU state (plain data from boot_cpu.ts, cpuid.ts,
// msrs.ts) into KVM's x86_64 structs and applies it to a vCPU. Layouts from
// linux/kvm.h / asm/kvm.h (x86_64), checked by src/kvm/uapi.test.ts's sizes.
import { native, isErrno } from '../../native/addon.js';
import { KVM_IOCTL } from '../../kvm/generated/uapi.js';
import { KvmError } from '../../kvm/errors.js';
import type { DescriptorTable, LongModeSregs, Segment, BootRegs } from './boot_cpu.js';
import type { CpuidEntry } from './cpuid.js';
import type { MsrEntry } from './msrs.js';

/** struct kvm_sregs offsets (x86_64): 8 segments of 24 bytes, 2 dtables of 16, then control registers. */
const SREGS = { SIZE: 312, CS: 0, DS: 24, ES: 48, FS: 72, GS: 96, SS: 120, TR: 144, LDT: 168, GDT: 192, IDT: 208, CR0: 224, CR3: 240, CR4: 248, EFER: 264 } as const;
/** struct kvm_regs offsets (x86_64). */
const REGS = { SIZE: 144, RSI: 32, RSP: 48, RBP: 56, RIP: 128, RFLAGS: 136 } as const;
/** struct kvm_fpu: fcw at 128 (after 8 x 16-byte fpr), mxcsr at 408; 416 bytes. */
const FPU = { SIZE: 416, FCW: 128, MXCSR: 408 } as const;
/** Power-on x87 control word and MXCSR (SDM vol. 1, 8.1.5 and 10.2.3), as Firecracker sets them. */
const FPU_DEFAULT = { FCW: 0x37f, MXCSR: 0x1f80 } as const;
/** struct kvm_lapic_state: the APIC page; LVT LINT0/LINT1 registers (SDM vol. 3, 11.5.1). */
const LAPIC = { SIZE: 1024, LVT_LINT0: 0x350, LVT_LINT1: 0x360, DELIVERY_MODE_MASK: 0x700, MODE_EXTINT: 0x700, MODE_NMI: 0x400 } as const;
const CPUID_ENTRY_SIZE = 40;

function writeSegment(b: Buffer, at: number, s: Segment): void {
  b.fill(0, at, at + 24);
  b.writeBigUInt64LE(BigInt(s.base), at);
  b.writeUInt32LE(s.limit >>> 0, at + 8);
  b.writeUInt16LE(s.selector, at + 12);
  b[at + 14] = s.type;
  b[at + 15] = s.present;
  b[at + 16] = s.dpl;
  b[at + 17] = s.db;
  b[at + 18] = s.s;
  b[at + 19] = s.l;
  b[at + 20] = s.g;
  b[at + 21] = s.avl;
  b[at + 22] = 0; // unusable
}

function writeDtable(b: Buffer, at: number, t: DescriptorTable): void {
  b.writeBigUInt64LE(BigInt(t.base), at);
  b.writeUInt16LE(t.limit, at + 8);
}

/** Merges long-mode values into the vCPU's current sregs (keeping APIC base and the rest). */
export function applySregs(vcpuFd: number, s: LongModeSregs): void {
  const b = Buffer.alloc(SREGS.SIZE);
  native.ioctl(vcpuFd, KVM_IOCTL.GET_SREGS, b);
  writeSegment(b, SREGS.CS, s.cs);
  writeSegment(b, SREGS.DS, s.ds);
  writeSegment(b, SREGS.ES, s.es);
  writeSegment(b, SREGS.FS, s.fs);
  writeSegment(b, SREGS.GS, s.gs);
  writeSegment(b, SREGS.SS, s.ss);
  writeSegment(b, SREGS.TR, s.tr);
  writeDtable(b, SREGS.GDT, s.gdt);
  writeDtable(b, SREGS.IDT, s.idt);
  b.writeBigUInt64LE(BigInt(s.cr0), SREGS.CR0);
  b.writeBigUInt64LE(BigInt(s.cr3), SREGS.CR3);
  b.writeBigUInt64LE(BigInt(s.cr4), SREGS.CR4);
  b.writeBigUInt64LE(BigInt(s.efer), SREGS.EFER);
  native.ioctl(vcpuFd, KVM_IOCTL.SET_SREGS, b);
}

export function applyRegs(vcpuFd: number, r: BootRegs): void {
  const b = Buffer.alloc(REGS.SIZE);
  b.writeBigUInt64LE(BigInt(r.rsi), REGS.RSI);
  b.writeBigUInt64LE(BigInt(r.rsp), REGS.RSP);
  b.writeBigUInt64LE(BigInt(r.rbp), REGS.RBP);
  b.writeBigUInt64LE(BigInt(r.rip), REGS.RIP);
  b.writeBigUInt64LE(BigInt(r.rflags), REGS.RFLAGS);
  native.ioctl(vcpuFd, KVM_IOCTL.SET_REGS, b);
}

export function applyFpu(vcpuFd: number): void {
  const b = Buffer.alloc(FPU.SIZE);
  b.writeUInt16LE(FPU_DEFAULT.FCW, FPU.FCW);
  b.writeUInt32LE(FPU_DEFAULT.MXCSR, FPU.MXCSR);
  native.ioctl(vcpuFd, KVM_IOCTL.SET_FPU, b);
}

/** KVM_SET_MSRS: struct kvm_msrs (u32 nmsrs, pad) + 16-byte entries (u32 index, u32 reserved, u64 data). */
export function applyMsrs(vcpuFd: number, msrs: readonly MsrEntry[]): void {
  const b = Buffer.alloc(8 + msrs.length * 16);
  b.writeUInt32LE(msrs.length, 0);
  msrs.forEach((m, i) => {
    b.writeUInt32LE(m.index, 8 + i * 16);
    b.writeBigUInt64LE(m.data, 8 + i * 16 + 8);
  });
  const set = native.ioctl(vcpuFd, KVM_IOCTL.SET_MSRS, b);
  if (set !== msrs.length) {
    const bad = msrs[set];
    throw new KvmError(`KVM_SET_MSRS set ${set} of ${msrs.length} MSRs; MSR 0x${bad?.index.toString(16)} was refused`);
  }
}

/** Parses the struct kvm_cpuid2 buffer from KVM_GET_SUPPORTED_CPUID. */
export function parseCpuid2(buf: Buffer): CpuidEntry[] {
  const n = buf.readUInt32LE(0);
  const out: CpuidEntry[] = [];
  for (let i = 0; i < n; i++) {
    const o = 8 + i * CPUID_ENTRY_SIZE;
    out.push({
      function: buf.readUInt32LE(o),
      index: buf.readUInt32LE(o + 4),
      flags: buf.readUInt32LE(o + 8),
      eax: buf.readUInt32LE(o + 12),
      ebx: buf.readUInt32LE(o + 16),
      ecx: buf.readUInt32LE(o + 20),
      edx: buf.readUInt32LE(o + 24),
    });
  }
  return out;
}

export function serializeCpuid2(entries: readonly CpuidEntry[]): Buffer {
  const b = Buffer.alloc(8 + entries.length * CPUID_ENTRY_SIZE);
  b.writeUInt32LE(entries.length, 0);
  entries.forEach((e, i) => {
    const o = 8 + i * CPUID_ENTRY_SIZE;
    b.writeUInt32LE(e.function >>> 0, o);
    b.writeUInt32LE(e.index >>> 0, o + 4);
    b.writeUInt32LE(e.flags >>> 0, o + 8);
    b.writeUInt32LE(e.eax >>> 0, o + 12);
    b.writeUInt32LE(e.ebx >>> 0, o + 16);
    b.writeUInt32LE(e.ecx >>> 0, o + 20);
    b.writeUInt32LE(e.edx >>> 0, o + 24);
  });
  return b;
}

export function applyCpuid(vcpuFd: number, entries: readonly CpuidEntry[]): void {
  native.ioctl(vcpuFd, KVM_IOCTL.SET_CPUID2, serializeCpuid2(entries));
}

/** LINT0 in ExtINT mode (the 8259 PIC's output) and LINT1 as NMI: the PC wiring the MP table describes. */
export function applyLapicLints(vcpuFd: number): void {
  const b = Buffer.alloc(LAPIC.SIZE);
  native.ioctl(vcpuFd, KVM_IOCTL.GET_LAPIC, b);
  const set = (reg: number, mode: number): void => {
    b.writeUInt32LE(((b.readUInt32LE(reg) & ~LAPIC.DELIVERY_MODE_MASK) | mode) >>> 0, reg);
  };
  set(LAPIC.LVT_LINT0, LAPIC.MODE_EXTINT);
  set(LAPIC.LVT_LINT1, LAPIC.MODE_NMI);
  native.ioctl(vcpuFd, KVM_IOCTL.SET_LAPIC, b);
}

/** "RIP 0x... RSP 0x... CR0 0x..." for failure lines; never throws. */
export function describeVcpu(vcpuFd: number): string {
  try {
    const r = Buffer.alloc(REGS.SIZE);
    native.ioctl(vcpuFd, KVM_IOCTL.GET_REGS, r);
    const s = Buffer.alloc(SREGS.SIZE);
    native.ioctl(vcpuFd, KVM_IOCTL.GET_SREGS, s);
    const h = (v: bigint): string => `0x${v.toString(16)}`;
    return `guest RIP ${h(r.readBigUInt64LE(REGS.RIP))} RSP ${h(r.readBigUInt64LE(REGS.RSP))} CR0 ${h(s.readBigUInt64LE(SREGS.CR0))} CS.sel 0x${s.readUInt16LE(SREGS.CS + 12).toString(16)}`;
  } catch (err) {
    return isErrno(err, 'EBADF') ? 'vCPU state unavailable' : `vCPU state unavailable (${(err as Error).message})`;
  }
}
