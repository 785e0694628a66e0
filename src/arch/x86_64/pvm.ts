// Nested "PVM" hosts (the kvm_pvm module): KVM there runs a normal guest's
// kernel-mode code in an instruction emulator. Measured on such a host:
// - guest CPUID at CPL0 shows the host's features whatever KVM_SET_CPUID2
//   says, and the emulator lacks XSAVE/XRSTOR, CMPXCHG16B, POPCNT, CLAC/STAC,
//   RDPID, FSGSBASE instructions and friends, so the kernel must be told not
//   to use them (noxsave, clearcpuid=...);
// - a guest's user space cannot run there at all (`syscall` enters the kernel
//   without a privilege change; `int $0x80` raises #UD), whatever the VMM does.

/** The sysfs directory whose presence marks a PVM host. */
export const PVM_MODULE_DIR = '/sys/module/kvm_pvm';

/** CPU features the emulator cannot execute at CPL0, as clearcpuid= names. */
export const PVM_CLEARCPUID = [
  'smap', 'smep', 'cx16', 'pku', 'umip', 'rdpid', 'fsgsbase', 'popcnt', 'bmi1', 'bmi2', 'movbe', 'avx', 'avx2',
  'aes', 'pclmulqdq', 'sha_ni', 'rdrand', 'rdseed', 'abm', 'clflushopt', 'clwb', 'invpcid', 'pcid', 'erms', 'fsrm',
] as const;

export const PVM_CMDLINE = `noxsave clearcpuid=${PVM_CLEARCPUID.join(',')}`;

export function pvmHostQuirk(exists: (path: string) => boolean): { cmdline: string; notice: string } | undefined {
  if (!exists(PVM_MODULE_DIR)) return undefined;
  return {
    cmdline: PVM_CMDLINE,
    notice:
      'nested PVM host (kvm_pvm): guest kernel code runs in an instruction emulator here, so "noxsave clearcpuid=..." was added to the command line; ' +
      "this host cannot run a guest's user space (its syscall/int 0x80 entry is broken), so a Linux guest stops after `Run /init`",
  };
}
