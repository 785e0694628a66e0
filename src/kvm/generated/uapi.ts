// Constants transcribed from the Linux UAPI headers <linux/kvm.h>,
// <linux/if_tun.h> and <asm-generic/ioctls.h> (kernel 6.1 as shipped by
// Debian 12's linux-libc-dev). ioctl numbers are spelled with the _IO/_IOR/
// _IOW/_IOWR encodings of <asm-generic/ioctl.h> so the struct size behind each
// one is visible. src/kvm/uapi.test.ts compiles scripts/uapi-check.c against
// the host's headers and compares every value, so a typo here fails a test.

const IOC_WRITE = 1;
const IOC_READ = 2;
function ioc(dir: number, type: number, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}
const io = (type: number, nr: number): number => ioc(0, type, nr, 0);
const ior = (type: number, nr: number, size: number): number => ioc(IOC_READ, type, nr, size);
export const iow = (type: number, nr: number, size: number): number => ioc(IOC_WRITE, type, nr, size);
const iowr = (type: number, nr: number, size: number): number => ioc(IOC_READ | IOC_WRITE, type, nr, size);

/** KVMIO, the ioctl type byte of every KVM request. */
export const KVMIO = 0xae;

/** KVM ioctl request numbers (linux/kvm.h). The third argument is sizeof(struct). */
export const KVM_IOCTL = {
  GET_API_VERSION: io(KVMIO, 0x00),
  CREATE_VM: io(KVMIO, 0x01),
  GET_MSR_INDEX_LIST: iowr(KVMIO, 0x02, 4), // struct kvm_msr_list
  CHECK_EXTENSION: io(KVMIO, 0x03),
  GET_VCPU_MMAP_SIZE: io(KVMIO, 0x04),
  GET_SUPPORTED_CPUID: iowr(KVMIO, 0x05, 8), // struct kvm_cpuid2
  CREATE_VCPU: io(KVMIO, 0x41),
  SET_USER_MEMORY_REGION: iow(KVMIO, 0x46, 32), // struct kvm_userspace_memory_region
  SET_TSS_ADDR: io(KVMIO, 0x47),
  SET_IDENTITY_MAP_ADDR: iow(KVMIO, 0x48, 8), // __u64
  CREATE_IRQCHIP: io(KVMIO, 0x60),
  IRQ_LINE: iow(KVMIO, 0x61, 8), // struct kvm_irq_level
  SET_GSI_ROUTING: iow(KVMIO, 0x6a, 8), // struct kvm_irq_routing
  IRQFD: iow(KVMIO, 0x76, 32), // struct kvm_irqfd
  CREATE_PIT2: iow(KVMIO, 0x77, 64), // struct kvm_pit_config
  IOEVENTFD: iow(KVMIO, 0x79, 64), // struct kvm_ioeventfd
  RUN: io(KVMIO, 0x80),
  GET_REGS: ior(KVMIO, 0x81, 144), // struct kvm_regs (x86_64)
  SET_REGS: iow(KVMIO, 0x82, 144),
  GET_SREGS: ior(KVMIO, 0x83, 312), // struct kvm_sregs (x86_64)
  SET_SREGS: iow(KVMIO, 0x84, 312),
  GET_MSRS: iowr(KVMIO, 0x88, 8), // struct kvm_msrs
  SET_MSRS: iow(KVMIO, 0x89, 8),
  SET_SIGNAL_MASK: iow(KVMIO, 0x8b, 4), // struct kvm_signal_mask (len, then the sigset)
  SET_FPU: iow(KVMIO, 0x8d, 416), // struct kvm_fpu
  GET_LAPIC: ior(KVMIO, 0x8e, 1024), // struct kvm_lapic_state
  SET_LAPIC: iow(KVMIO, 0x8f, 1024),
  SET_CPUID2: iow(KVMIO, 0x90, 8), // struct kvm_cpuid2
  ENABLE_CAP: iow(KVMIO, 0xa3, 104), // struct kvm_enable_cap
  SIGNAL_MSI: iow(KVMIO, 0xa5, 32), // struct kvm_msi
  GET_ONE_REG: iow(KVMIO, 0xab, 16), // struct kvm_one_reg
  SET_ONE_REG: iow(KVMIO, 0xac, 16),
  ARM_VCPU_INIT: iow(KVMIO, 0xae, 32), // struct kvm_vcpu_init (arm64)
  ARM_PREFERRED_TARGET: ior(KVMIO, 0xaf, 32),
  CREATE_DEVICE: iowr(KVMIO, 0xe0, 12), // struct kvm_create_device
  SET_DEVICE_ATTR: iow(KVMIO, 0xe1, 24), // struct kvm_device_attr
} as const;

/** KVM_CHECK_EXTENSION capability numbers (linux/kvm.h KVM_CAP_*). */
export const KVM_CAP = {
  IRQCHIP: 0,
  HLT: 1,
  USER_MEMORY: 3,
  SET_TSS_ADDR: 4,
  EXT_CPUID: 7,
  NR_VCPUS: 9,
  NR_MEMSLOTS: 10,
  MP_STATE: 14,
  SYNC_MMU: 16,
  IRQ_ROUTING: 25,
  IRQFD: 32,
  PIT2: 33,
  PIT_STATE2: 35,
  IOEVENTFD: 36,
  SET_IDENTITY_MAP_ADDR: 37,
  MAX_VCPUS: 66,
  SIGNAL_MSI: 77,
  DEVICE_CTRL: 89,
  ARM_PSCI_0_2: 102,
  IMMEDIATE_EXIT: 136,
} as const;

/** kvm_run.exit_reason values (linux/kvm.h KVM_EXIT_*). */
export const KVM_EXIT = {
  UNKNOWN: 0,
  EXCEPTION: 1,
  IO: 2,
  HYPERCALL: 3,
  DEBUG: 4,
  HLT: 5,
  MMIO: 6,
  SHUTDOWN: 8,
  FAIL_ENTRY: 9,
  INTR: 10,
  INTERNAL_ERROR: 17,
  SYSTEM_EVENT: 24,
} as const;

/** kvm_run.system_event.type (linux/kvm.h KVM_SYSTEM_EVENT_*). */
export const KVM_SYSTEM_EVENT = { SHUTDOWN: 1, RESET: 2, CRASH: 3 } as const;

/** kvm_run.internal.suberror: KVM_INTERNAL_ERROR_EMULATION and its instruction-bytes flag. */
export const KVM_INTERNAL_ERROR = { EMULATION: 1, FLAG_INSTRUCTION_BYTES: 1 } as const;

export const KVM_IRQFD_FLAG = { DEASSIGN: 1, RESAMPLE: 2 } as const;
export const KVM_IOEVENTFD_FLAG = { DATAMATCH: 1, PIO: 2, DEASSIGN: 4 } as const;
export const KVM_IRQ_ROUTING = { IRQCHIP: 1, MSI: 2 } as const;
/** kvm_pit_config.flags: no PC speaker port emulation (port 0x61 stays ours). */
export const KVM_PIT_SPEAKER_DUMMY = 1;
/** The KVM API version every supported kernel reports (api.rst 4.1). */
export const KVM_API_VERSION = 12;

/** TUN/TAP ioctls (linux/if_tun.h). */
export const TUN_IOCTL = {
  TUNSETIFF: iow(0x54, 202, 4),
  TUNGETIFF: ior(0x54, 210, 4),
  TUNSETOFFLOAD: iow(0x54, 208, 4),
  TUNGETVNETHDRSZ: ior(0x54, 215, 4),
  TUNSETVNETHDRSZ: iow(0x54, 216, 4),
} as const;

/** Terminal ioctls (asm-generic/ioctls.h). */
export const TTY_IOCTL = {
  TCGETS: 0x5401,
  TCSETS: 0x5402,
  TCSETSW: 0x5403,
  TIOCGWINSZ: 0x5413,
  FIONREAD: 0x541b,
  FIONBIO: 0x5421,
} as const;
