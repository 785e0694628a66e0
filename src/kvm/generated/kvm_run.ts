// Byte offsets in struct kvm_run (linux/kvm.h), the page shared with KVM after
// KVM_RUN returns. Checked against the host headers by src/kvm/uapi.test.ts.
export const KVM_RUN_OFFSET = {
  immediate_exit: 1,
  exit_reason: 8,
  // union at 32
  io_direction: 32, // KVM_EXIT_IO_IN = 0, KVM_EXIT_IO_OUT = 1
  io_size: 33,
  io_port: 34,
  io_count: 36,
  io_data_offset: 40,
  mmio_phys_addr: 32,
  mmio_data: 40,
  mmio_len: 48,
  mmio_is_write: 52,
  fail_entry_reason: 32,
  internal_suberror: 32,
  internal_ndata: 36,
  internal_data: 40,
  /** For KVM_INTERNAL_ERROR_EMULATION: u64 flags, u8 insn_size, u8 insn_bytes[15]. */
  emulation_flags: 40,
  emulation_insn_size: 48,
  emulation_insn_bytes: 49,
  system_event_type: 32,
  system_event_ndata: 36,
  system_event_data: 40,
} as const;

export const KVM_EXIT_IO_DIRECTION = { IN: 0, OUT: 1 } as const;
