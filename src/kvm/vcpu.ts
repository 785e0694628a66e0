// A vCPU file descriptor and its shared struct kvm_run page (rust-vmm
// kvm-ioctls' `VcpuFd`). run() returns the raw exit reason and leaves the
// details in the kvm_run page, read through the accessors below: the exit
// loop allocates nothing per exit.
import { native, isErrno } from '../native/addon.js';
import { MAP, PROT } from '../native/linux.js';
import { KVM_EXIT, KVM_IOCTL, KVM_INTERNAL_ERROR } from './generated/uapi.js';
import { KVM_RUN_OFFSET as R } from './generated/kvm_run.js';

export class VcpuFd {
  readonly run_: ArrayBuffer;
  readonly view: DataView;
  readonly bytes: Uint8Array;

  constructor(
    readonly fd: number,
    mmapSize: number,
  ) {
    this.run_ = native.mmap(mmapSize, PROT.READ | PROT.WRITE, MAP.SHARED, fd, 0);
    this.view = new DataView(this.run_);
    this.bytes = new Uint8Array(this.run_);
  }

  /** KVM_RUN. Returns the exit reason; an interrupted run (EINTR) reports KVM_EXIT.INTR. */
  run(): number {
    try {
      native.ioctlInt(this.fd, KVM_IOCTL.RUN, 0);
    } catch (err) {
      if (isErrno(err, 'EINTR') || isErrno(err, 'EAGAIN')) return KVM_EXIT.INTR;
      throw err;
    }
    return this.view.getUint32(R.exit_reason, true);
  }

  // KVM_EXIT_IO
  get ioDirection(): number {
    return this.bytes[R.io_direction]!;
  }
  get ioSize(): number {
    return this.bytes[R.io_size]!;
  }
  get ioPort(): number {
    return this.view.getUint16(R.io_port, true);
  }
  get ioCount(): number {
    return this.view.getUint32(R.io_count, true);
  }
  /** Offset of the data inside the kvm_run mapping (below 2^32 by construction). */
  get ioDataOffset(): number {
    return this.view.getUint32(R.io_data_offset, true);
  }

  // KVM_EXIT_MMIO
  get mmioAddress(): number {
    return this.view.getUint32(R.mmio_phys_addr + 4, true) * 0x1_0000_0000 + this.view.getUint32(R.mmio_phys_addr, true);
  }
  get mmioLength(): number {
    return this.view.getUint32(R.mmio_len, true);
  }
  get mmioIsWrite(): boolean {
    return this.bytes[R.mmio_is_write] !== 0;
  }
  get mmioDataOffset(): number {
    return R.mmio_data;
  }

  // KVM_EXIT_SYSTEM_EVENT
  get systemEventType(): number {
    return this.view.getUint32(R.system_event_type, true);
  }

  // KVM_EXIT_FAIL_ENTRY
  get failEntryReason(): bigint {
    return this.view.getBigUint64(R.fail_entry_reason, true);
  }

  // KVM_EXIT_INTERNAL_ERROR
  get internalSuberror(): number {
    return this.view.getUint32(R.internal_suberror, true);
  }
  /** The instruction bytes KVM failed to emulate, when it reports them. */
  emulationInstructionBytes(): Uint8Array | undefined {
    if (this.internalSuberror !== KVM_INTERNAL_ERROR.EMULATION) return undefined;
    const ndata = this.view.getUint32(R.internal_ndata, true);
    const flags = this.view.getUint32(R.emulation_flags, true);
    if (ndata < 3 || (flags & KVM_INTERNAL_ERROR.FLAG_INSTRUCTION_BYTES) === 0) return undefined;
    const n = Math.min(15, this.bytes[R.emulation_insn_size]!);
    return this.bytes.slice(R.emulation_insn_bytes, R.emulation_insn_bytes + n);
  }

  setImmediateExit(on: boolean): void {
    this.bytes[R.immediate_exit] = on ? 1 : 0;
  }

  /** An ioctl on this vCPU with a struct buffer (KVM_SET_REGS, KVM_GET_SREGS, ...). */
  ioctl(request: number, arg: Buffer): number {
    return native.ioctl(this.fd, request, arg);
  }

  close(): void {
    native.munmap(this.run_);
    native.close(this.fd);
  }
}
