// Model-specific registers set on each vCPU before it first runs.
//
// Source: Intel SDM vol. 4 ("Model-Specific Registers") for numbers and bit
// layouts; arch/x86/include/asm/msr-index.h for Linux's names. The values are
// those a freshly reset CPU (or firmware) leaves and Linux relies on: syscall
// MSRs cleared (Linux programs them itself), the TSC at 0, fast strings on,
// and MTRRs enabled with write-back as the default memory type (otherwise
// all of RAM would be uncacheable). The VMM serialises these into kvm_msrs.

/** MSR numbers (SDM vol. 4, table 2-2; msr-index.h). */
export const MSR = {
  IA32_TSC: 0x10,
  IA32_SYSENTER_CS: 0x174,
  IA32_SYSENTER_ESP: 0x175,
  IA32_SYSENTER_EIP: 0x176,
  IA32_MISC_ENABLE: 0x1a0,
  /** IA32_MTRR_DEF_TYPE (Linux: MSR_MTRRdefType). */
  IA32_MTRR_DEF_TYPE: 0x2ff,
  IA32_EFER: 0xc000_0080,
  /** Legacy-mode SYSCALL target and CS/SS selectors. */
  STAR: 0xc000_0081,
  /** 64-bit SYSCALL target. */
  LSTAR: 0xc000_0082,
  /** Compatibility-mode SYSCALL target. */
  CSTAR: 0xc000_0083,
  /** RFLAGS bits cleared on SYSCALL (Linux: MSR_SYSCALL_MASK). */
  SYSCALL_MASK: 0xc000_0084,
  /** Swapped with GS.base by SWAPGS. */
  KERNEL_GS_BASE: 0xc000_0102,
} as const;

/** IA32_MISC_ENABLE bit 0: fast-string operations (REP MOVS/STOS) enabled. */
export const MISC_ENABLE_FAST_STRING = 1n << 0n;

/** IA32_MTRR_DEF_TYPE fields (SDM vol. 3, 11.11.2.1). */
export const MTRR_DEF_TYPE = {
  /** Bit 11, E: MTRRs enabled. */
  ENABLE: 1n << 11n,
  /** Bits 7:0, memory type 6: write-back. */
  TYPE_WB: 6n,
} as const;

/** One MSR write, as struct kvm_msr_entry (index, data). */
export interface MsrEntry {
  readonly index: number;
  readonly data: bigint;
}

/** The MSRs every vCPU gets at boot, in a fixed order. */
export function bootMsrs(): MsrEntry[] {
  return [
    { index: MSR.IA32_SYSENTER_CS, data: 0n },
    { index: MSR.IA32_SYSENTER_ESP, data: 0n },
    { index: MSR.IA32_SYSENTER_EIP, data: 0n },
    { index: MSR.STAR, data: 0n },
    { index: MSR.CSTAR, data: 0n },
    { index: MSR.KERNEL_GS_BASE, data: 0n },
    { index: MSR.SYSCALL_MASK, data: 0n },
    { index: MSR.LSTAR, data: 0n },
    { index: MSR.IA32_TSC, data: 0n },
    { index: MSR.IA32_MISC_ENABLE, data: MISC_ENABLE_FAST_STRING },
    { index: MSR.IA32_MTRR_DEF_TYPE, data: MTRR_DEF_TYPE.ENABLE | MTRR_DEF_TYPE.TYPE_WB },
  ];
}
