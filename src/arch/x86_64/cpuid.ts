// CPUID as the guest sees it: pure transformations over the entries that
// KVM_GET_SUPPORTED_CPUID returns, before KVM_SET_CPUID2.
//
// Sources: Intel SDM vol. 2A "CPUID" (leaf and bit layouts), AMD APM vol. 3
// appendix E (0x8000_0001), Documentation/virt/kvm/x86/cpuid.rst (the KVM
// signature leaf). Firecracker's cpu templates (T2, T2S, C3) do the same job.
// Nothing here adds a feature KVM did not offer: the templates only clear bits.

/** One CPUID entry, as struct kvm_cpuid_entry2. */
export interface CpuidEntry {
  function: number;
  index: number;
  flags: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** kvm_cpuid_entry2.flags: the entry depends on ECX (the subleaf). */
export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;

export const LEAF = {
  FEATURES: 0x1,
  CACHE_PARAMS: 0x4,
  EXTENDED_FEATURES: 0x7,
  TOPOLOGY: 0xb,
  XSAVE_STATE: 0xd,
  TOPOLOGY_V2: 0x1f,
  KVM_SIGNATURE: 0x4000_0000,
  KVM_FEATURES: 0x4000_0001,
  EXT_FEATURES: 0x8000_0001,
} as const;

/** "KVMKVMKVM\0\0\0" in EBX, ECX, EDX (cpuid.rst). */
export const KVM_SIGNATURE = { EBX: 0x4b4d564b, ECX: 0x564b4d56, EDX: 0x0000004d } as const;

/** CPUID.1 fields. */
export const LEAF1 = {
  /** EBX 15:8: CLFLUSH line size in 8-byte units; 8 = 64-byte lines. */
  CLFLUSH_LINE_8B: 8,
  EBX_CLFLUSH_SHIFT: 8,
  EBX_LOGICAL_COUNT_SHIFT: 16,
  EBX_APIC_ID_SHIFT: 24,
  /** ECX 31: running under a hypervisor (always 0 on bare metal). */
  ECX_HYPERVISOR: 1 << 31,
  /** EDX 28: HTT, EBX 23:16 is valid (more than one logical processor per package). */
  EDX_HTT: 1 << 28,
} as const;

/** Topology level types in CPUID.0xB/0x1F ECX 15:8 (SDM). */
export const TOPOLOGY_LEVEL = { INVALID: 0, SMT: 1, CORE: 2 } as const;

/**
 * Leaf 1 ECX bits the baseline template clears. The baseline is the x86-64
 * psABI's first level (x86-64-v1: SSE2 and no more), so a guest kernel and
 * userland only execute instructions that every x86_64 CPU and every
 * instruction emulator (the VMM's MMIO decoder, TCG-style tools, a nested
 * hypervisor's emulator) implements.
 */
export const BASELINE_CLEAR_LEAF1_ECX = {
  /** SSE3: x86-64-v2 vector instructions. */
  SSE3: 1 << 0,
  /** PCLMULQDQ: carry-less multiply (crypto); not in v1. */
  PCLMULQDQ: 1 << 1,
  /** MONITOR/MWAIT: idle instructions that trap or misbehave under emulation. */
  MONITOR: 1 << 3,
  /** SSSE3: x86-64-v2. */
  SSSE3: 1 << 9,
  /** FMA3: AVX-encoded (VEX) instructions. */
  FMA: 1 << 12,
  /** CMPXCHG16B: 16-byte atomic compare-exchange; x86-64-v2, hard to emulate atomically on MMIO. */
  CMPXCHG16B: 1 << 13,
  /** PCID: TLB tagging by CR3; changes paging semantics an emulator must track. */
  PCID: 1 << 17,
  /** SSE4.1: x86-64-v2. */
  SSE4_1: 1 << 19,
  /** SSE4.2: x86-64-v2 (string compare, CRC32). */
  SSE4_2: 1 << 20,
  /** MOVBE: byte-swapping move, a memory operand form emulators often lack. */
  MOVBE: 1 << 22,
  /** POPCNT: x86-64-v2. */
  POPCNT: 1 << 23,
  /** AES-NI. */
  AES: 1 << 25,
  /** XSAVE: extended state save area; without it the guest uses FXSAVE and no AVX state exists. */
  XSAVE: 1 << 26,
  /** OSXSAVE: mirrors CR4.OSXSAVE; meaningless without XSAVE. */
  OSXSAVE: 1 << 27,
  /** AVX: 256-bit VEX instructions (x86-64-v3). */
  AVX: 1 << 28,
  /** F16C: half-precision conversions, VEX encoded. */
  F16C: 1 << 29,
  /** RDRAND: hardware randomness; non-deterministic and not emulable faithfully. */
  RDRAND: 1 << 30,
} as const;

/** Leaf 7 subleaf 0 EBX bits the baseline clears. */
export const BASELINE_CLEAR_LEAF7_EBX = {
  /** FSGSBASE: RDFSBASE/WRFSBASE etc. from ring 3; new instructions and a CR4 bit. */
  FSGSBASE: 1 << 0,
  /** BMI1: x86-64-v3 bit manipulation (VEX). */
  BMI1: 1 << 3,
  /** HLE: TSX lock elision prefixes. */
  HLE: 1 << 4,
  /** AVX2: x86-64-v3. */
  AVX2: 1 << 5,
  /** BMI2: x86-64-v3. */
  BMI2: 1 << 8,
  /** INVPCID: TLB invalidation by PCID; pointless without PCID. */
  INVPCID: 1 << 10,
  /** RTM: transactional memory (XBEGIN/XEND). */
  RTM: 1 << 11,
  /** MPX: bound registers, removed from newer CPUs and Linux. */
  MPX: 1 << 14,
  AVX512F: 1 << 16,
  AVX512DQ: 1 << 17,
  /** RDSEED: like RDRAND. */
  RDSEED: 1 << 18,
  /** ADX: ADCX/ADOX, x86-64-v3-era arithmetic. */
  ADX: 1 << 19,
  /** SMAP: adds STAC/CLAC, executed on every user copy; an emulator must implement AC checks. */
  SMAP: 1 << 20,
  AVX512_IFMA: 1 << 21,
  /** CLFLUSHOPT and CLWB: newer cache-line flush instructions. */
  CLFLUSHOPT: 1 << 23,
  CLWB: 1 << 24,
  AVX512PF: 1 << 26,
  AVX512ER: 1 << 27,
  AVX512CD: 1 << 28,
  /** SHA extensions. */
  SHA: 1 << 29,
  AVX512BW: 1 << 30,
  AVX512VL: 1 << 31,
} as const;

/** Leaf 7 subleaf 0 ECX bits the baseline clears. */
export const BASELINE_CLEAR_LEAF7_ECX = {
  AVX512_VBMI: 1 << 1,
  /** PKU/OSPKE: protection keys (RDPKRU/WRPKRU and a paging change). */
  PKU: 1 << 3,
  OSPKE: 1 << 4,
  /** WAITPKG: UMWAIT/TPAUSE idle instructions. */
  WAITPKG: 1 << 5,
  AVX512_VBMI2: 1 << 6,
  /** GFNI, VAES, VPCLMULQDQ: vector crypto. */
  GFNI: 1 << 8,
  VAES: 1 << 9,
  VPCLMULQDQ: 1 << 10,
  AVX512_VNNI: 1 << 11,
  AVX512_BITALG: 1 << 12,
  AVX512_VPOPCNTDQ: 1 << 14,
  /** LA57: 5-level paging; the baseline keeps 4-level paging. */
  LA57: 1 << 16,
  /** RDPID: a newer instruction (Linux then prefers it to RDTSCP for getcpu). */
  RDPID: 1 << 22,
  /** MOVDIRI/MOVDIR64B: direct stores, 64-byte MMIO writes. */
  MOVDIRI: 1 << 27,
  MOVDIR64B: 1 << 28,
} as const;

/** Leaf 7 subleaf 0 EDX bits the baseline clears (speculation-control bits are kept: they name MSRs, not instructions). */
export const BASELINE_CLEAR_LEAF7_EDX = {
  AVX512_4VNNIW: 1 << 2,
  AVX512_4FMAPS: 1 << 3,
  /** FSRM: fast short REP MOV; only a hint, but it changes which copy routine runs. */
  FSRM: 1 << 4,
  AVX512_VP2INTERSECT: 1 << 8,
  /** SERIALIZE: a new instruction. */
  SERIALIZE: 1 << 14,
  /** TSXLDTRK: TSX load-tracking suspend. */
  TSXLDTRK: 1 << 16,
  /** AMX and AVX512-FP16. */
  AMX_BF16: 1 << 22,
  AVX512_FP16: 1 << 23,
  AMX_TILE: 1 << 24,
  AMX_INT8: 1 << 25,
} as const;

/** Leaf 0x8000_0001 ECX bits the baseline clears (AMD APM vol. 3, E.4.2). */
export const BASELINE_CLEAR_EXT_ECX = {
  /** LAHF/SAHF in 64-bit mode: x86-64-v2. */
  LAHF_LM: 1 << 0,
  /** ABM: LZCNT (x86-64-v3). */
  ABM: 1 << 5,
  /** SSE4A: AMD-only vector instructions. */
  SSE4A: 1 << 6,
  /** Misaligned SSE: changes alignment faults. */
  MISALIGNSSE: 1 << 7,
  /** PREFETCHW (3DNowPrefetch): Linux falls back to PREFETCHT0. */
  PREFETCHW: 1 << 8,
  /** XOP, FMA4, TBM: AMD-only instruction sets. */
  XOP: 1 << 11,
  FMA4: 1 << 16,
  TBM: 1 << 21,
} as const;

export type CpuidTemplate = 'host' | 'baseline';

/**
 * Topology model: every vCPU is a package of its own (one core, one thread),
 * consistently in leaves 1, 4 and 0xB/0x1F. The MP table lists the packages.
 */
export interface CpuidOptions {
  /** This vCPU's APIC id (0 for the boot CPU). */
  readonly apicId: number;
  /** 'host' keeps what KVM offers; 'baseline' clears the bits above. Default 'host'. */
  readonly template?: CpuidTemplate;
}

const sum = (bits: Readonly<Record<string, number>>): number => Object.values(bits).reduce((a, b) => (a | b) >>> 0, 0);
const clear = (v: number, mask: number): number => (v & ~mask) >>> 0;

/** The OR of each register's cleared bits, for checks and tests. */
export const BASELINE_MASKS = {
  leaf1Ecx: sum(BASELINE_CLEAR_LEAF1_ECX),
  leaf7Ebx: sum(BASELINE_CLEAR_LEAF7_EBX),
  leaf7Ecx: sum(BASELINE_CLEAR_LEAF7_ECX),
  leaf7Edx: sum(BASELINE_CLEAR_LEAF7_EDX),
  extEcx: sum(BASELINE_CLEAR_EXT_ECX),
} as const;

/** Returns new entries for one vCPU; the input is not modified. */
export function buildGuestCpuid(supported: readonly CpuidEntry[], options: CpuidOptions): CpuidEntry[] {
  const apicId = options.apicId;
  if (!Number.isInteger(apicId) || apicId < 0 || apicId > 0xfe) throw new RangeError(`APIC id ${apicId} is not 0-254`);
  const baseline = (options.template ?? 'host') === 'baseline';
  const out: CpuidEntry[] = [];
  for (const src of supported) {
    const e = { ...src };
    switch (e.function) {
      case LEAF.FEATURES:
        // EBX 7:0 (brand index) kept; one logical processor per package, HTT clear.
        e.ebx = ((e.ebx & 0xff) | (LEAF1.CLFLUSH_LINE_8B << LEAF1.EBX_CLFLUSH_SHIFT) | (1 << LEAF1.EBX_LOGICAL_COUNT_SHIFT) | (apicId << LEAF1.EBX_APIC_ID_SHIFT)) >>> 0;
        e.ecx = (e.ecx | LEAF1.ECX_HYPERVISOR) >>> 0;
        e.edx = clear(e.edx, LEAF1.EDX_HTT);
        if (baseline) e.ecx = clear(e.ecx, BASELINE_MASKS.leaf1Ecx);
        break;
      case LEAF.CACHE_PARAMS:
        // EAX 25:14 = logical CPUs sharing this cache - 1; 31:26 = cores per package - 1.
        // One core per package, one thread per core: both 0.
        e.eax = clear(e.eax, 0xffff_c000);
        break;
      case LEAF.EXTENDED_FEATURES:
        if (baseline) {
          if (e.index === 0) {
            e.ebx = clear(e.ebx, BASELINE_MASKS.leaf7Ebx);
            e.ecx = clear(e.ecx, BASELINE_MASKS.leaf7Ecx);
            e.edx = clear(e.edx, BASELINE_MASKS.leaf7Edx);
          } else {
            // Subleaf 1 and up list only newer extensions (AVX-VNNI, AVX512-BF16, ...): none in the baseline.
            e.eax = e.ebx = e.ecx = e.edx = 0;
          }
        }
        break;
      case LEAF.TOPOLOGY:
      case LEAF.TOPOLOGY_V2:
        Object.assign(e, topologyLevel(e.index, apicId));
        e.flags |= KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        break;
      case LEAF.XSAVE_STATE:
        // Without XSAVE the state-component leaf must describe nothing.
        if (baseline) e.eax = e.ebx = e.ecx = e.edx = 0;
        break;
      case LEAF.KVM_SIGNATURE:
        Object.assign(e, kvmSignature());
        break;
      case LEAF.EXT_FEATURES:
        if (baseline) e.ecx = clear(e.ecx, BASELINE_MASKS.extEcx);
        break;
    }
    out.push(e);
  }
  if (!out.some((e) => e.function === LEAF.KVM_SIGNATURE)) {
    out.push({ function: LEAF.KVM_SIGNATURE, index: 0, flags: 0, ...kvmSignature() });
  }
  return out;
}

function kvmSignature(): Pick<CpuidEntry, 'eax' | 'ebx' | 'ecx' | 'edx'> {
  // EAX: the highest hypervisor leaf, KVM_CPUID_FEATURES.
  return { eax: LEAF.KVM_FEATURES, ebx: KVM_SIGNATURE.EBX, ecx: KVM_SIGNATURE.ECX, edx: KVM_SIGNATURE.EDX };
}

/**
 * One level of CPUID.0xB/0x1F for a vCPU that is alone in its core and its
 * core alone in its package: level 0 is SMT with 1 thread, level 1 is Core with
 * 1 core, higher subleaves are invalid. EAX = bits to shift the x2APIC id for
 * the next level (0), EBX = processors at this level, ECX = type << 8 | level,
 * EDX = x2APIC id.
 */
export function topologyLevel(subleaf: number, apicId: number): Pick<CpuidEntry, 'eax' | 'ebx' | 'ecx' | 'edx'> {
  const level = subleaf & 0xff;
  if (subleaf === 0) return { eax: 0, ebx: 1, ecx: (TOPOLOGY_LEVEL.SMT << 8) | level, edx: apicId };
  if (subleaf === 1) return { eax: 0, ebx: 1, ecx: (TOPOLOGY_LEVEL.CORE << 8) | level, edx: apicId };
  return { eax: 0, ebx: 0, ecx: (TOPOLOGY_LEVEL.INVALID << 8) | level, edx: apicId };
}

/** Finds an entry by leaf and subleaf. */
export function findCpuid(entries: readonly CpuidEntry[], fn: number, index = 0): CpuidEntry | undefined {
  return entries.find((e) => e.function === fn && e.index === index);
}
