// A VM file descriptor: memory slots, interrupt controller, irqfd/ioeventfd,
// GSI routing and vCPU creation (rust-vmm kvm-ioctls' `VmFd`). Struct layouts
// are written here with their sizes from linux/kvm.h.
import { native } from '../native/addon.js';
import { KVM_IOCTL, KVM_IOEVENTFD_FLAG, KVM_IRQFD_FLAG, KVM_IRQ_ROUTING } from './generated/uapi.js';

/** One GSI routing entry: to an irqchip pin, or an MSI message. */
export type GsiRoute =
  | { gsi: number; kind: 'irqchip'; irqchip: number; pin: number }
  | { gsi: number; kind: 'msi'; addressLo: number; addressHi: number; data: number };

export class VmFd {
  // Reused for KVM_IRQ_LINE, which the serial device calls on every edge.
  private readonly irqLevel = Buffer.alloc(8);

  constructor(readonly fd: number) {}

  /** KVM_SET_USER_MEMORY_REGION (struct kvm_userspace_memory_region, 32 bytes). */
  setUserMemoryRegion(slot: number, guestPhysAddr: number, size: number, hostAddr: bigint, flags = 0): void {
    const b = Buffer.alloc(32);
    b.writeUInt32LE(slot, 0);
    b.writeUInt32LE(flags, 4);
    b.writeBigUInt64LE(BigInt(guestPhysAddr), 8);
    b.writeBigUInt64LE(BigInt(size), 16);
    b.writeBigUInt64LE(hostAddr, 24);
    native.ioctl(this.fd, KVM_IOCTL.SET_USER_MEMORY_REGION, b);
  }

  setTssAddr(addr: number): void {
    native.ioctlInt(this.fd, KVM_IOCTL.SET_TSS_ADDR, addr);
  }

  setIdentityMapAddr(addr: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(addr));
    native.ioctl(this.fd, KVM_IOCTL.SET_IDENTITY_MAP_ADDR, b);
  }

  createIrqchip(): void {
    native.ioctlInt(this.fd, KVM_IOCTL.CREATE_IRQCHIP, 0);
  }

  /** KVM_CREATE_PIT2 with struct kvm_pit_config (64 bytes: u32 flags, pad). */
  createPit2(flags: number): void {
    const b = Buffer.alloc(64);
    b.writeUInt32LE(flags, 0);
    native.ioctl(this.fd, KVM_IOCTL.CREATE_PIT2, b);
  }

  /** KVM_IRQ_LINE (struct kvm_irq_level: u32 irq, u32 level). */
  irqLine(irq: number, level: boolean): void {
    const b = this.irqLevel;
    b.writeUInt32LE(irq, 0);
    b.writeUInt32LE(level ? 1 : 0, 4);
    native.ioctl(this.fd, KVM_IOCTL.IRQ_LINE, b);
  }

  /** KVM_IRQFD (struct kvm_irqfd, 32 bytes): writes to `eventfd` raise `gsi`. */
  irqfd(eventfd: number, gsi: number, opts: { deassign?: boolean; resampleFd?: number } = {}): void {
    const b = Buffer.alloc(32);
    let flags = 0;
    if (opts.deassign) flags |= KVM_IRQFD_FLAG.DEASSIGN;
    if (opts.resampleFd !== undefined) flags |= KVM_IRQFD_FLAG.RESAMPLE;
    b.writeUInt32LE(eventfd, 0);
    b.writeUInt32LE(gsi, 4);
    b.writeUInt32LE(flags, 8);
    b.writeUInt32LE(opts.resampleFd ?? 0, 12);
    native.ioctl(this.fd, KVM_IOCTL.IRQFD, b);
  }

  /**
   * KVM_IOEVENTFD (struct kvm_ioeventfd, 64 bytes): a guest write of `length`
   * bytes at `addr` (MMIO, or a port when `pio`) signals `eventfd` inside the
   * kernel, with no exit to userspace.
   */
  ioeventfd(eventfd: number, addr: number, length: number, opts: { pio?: boolean; datamatch?: number; deassign?: boolean } = {}): void {
    const b = Buffer.alloc(64);
    let flags = 0;
    if (opts.pio) flags |= KVM_IOEVENTFD_FLAG.PIO;
    if (opts.datamatch !== undefined) flags |= KVM_IOEVENTFD_FLAG.DATAMATCH;
    if (opts.deassign) flags |= KVM_IOEVENTFD_FLAG.DEASSIGN;
    b.writeBigUInt64LE(BigInt(opts.datamatch ?? 0), 0);
    b.writeBigUInt64LE(BigInt(addr), 8);
    b.writeUInt32LE(length, 16);
    b.writeInt32LE(eventfd, 20);
    b.writeUInt32LE(flags, 24);
    native.ioctl(this.fd, KVM_IOCTL.IOEVENTFD, b);
  }

  /**
   * KVM_SET_GSI_ROUTING replaces the whole table: struct kvm_irq_routing
   * (u32 nr, u32 flags) followed by 48-byte struct kvm_irq_routing_entry.
   */
  setGsiRouting(routes: readonly GsiRoute[]): void {
    const b = Buffer.alloc(8 + routes.length * 48);
    b.writeUInt32LE(routes.length, 0);
    routes.forEach((r, i) => {
      const o = 8 + i * 48;
      b.writeUInt32LE(r.gsi, o);
      if (r.kind === 'irqchip') {
        b.writeUInt32LE(KVM_IRQ_ROUTING.IRQCHIP, o + 4);
        b.writeUInt32LE(r.irqchip, o + 16);
        b.writeUInt32LE(r.pin, o + 20);
      } else {
        b.writeUInt32LE(KVM_IRQ_ROUTING.MSI, o + 4);
        b.writeUInt32LE(r.addressLo, o + 16);
        b.writeUInt32LE(r.addressHi, o + 20);
        b.writeUInt32LE(r.data, o + 24);
      }
    });
    native.ioctl(this.fd, KVM_IOCTL.SET_GSI_ROUTING, b);
  }

  /** Returns the new vCPU's file descriptor. */
  createVcpu(id: number): number {
    return native.ioctlInt(this.fd, KVM_IOCTL.CREATE_VCPU, id);
  }

  close(): void {
    native.close(this.fd);
  }
}
