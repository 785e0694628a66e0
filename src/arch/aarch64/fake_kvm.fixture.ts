// Test support: a fake of the arm64 KVM ioctls the aarch64 code issues,
// behind the same two native calls (ioctl, address). It decodes each struct
// the way the kernel would (following the pointers in kvm_device_attr and
// kvm_one_reg), keeps a log of what was asked, and enforces the ordering
// rules KVM enforces that matter here. Used only by *.test.ts files.
import type { Ioctls } from '../../kvm/device.js';
import { KVM_DEV_ARM_VGIC_GRP, KVM_DEV_TYPE, KVM_IOCTL_ARM64, KVM_VCPU_INIT, MPIDR_EL1 } from '../../kvm/generated/uapi_arm64.js';
import { vcpuMpidr } from './machine_fdt.js';

class FakeErrno extends Error {
  constructor(
    readonly code: string,
    what: string,
  ) {
    super(`${what}: ${code}`);
  }
}

export interface FakeDevice {
  type: number;
  /** group/attr -> value (bigint from the pointed-at u64 or u32; undefined when addr was 0). */
  attrs: Map<string, bigint | undefined>;
  initialised: boolean;
}

export class FakeKvm implements Ioctls {
  readonly log: string[] = [];
  readonly devices = new Map<number, FakeDevice>();
  readonly regs = new Map<bigint, bigint>();
  vcpuInit: { target: number; features: number[] } | undefined;
  /** Every KVM_ARM_VCPU_INIT by vCPU fd; the n-th fd initialised is vCPU id n (KVM's MPIDR follows the id). */
  readonly vcpuInits = new Map<number, { id: number; target: number; features: number[] }>();
  /** Set by the test: vCPUs that exist (CTRL_INIT with none, or later ones, would break a real VM). */
  vcpus = 0;
  private readonly pointers = new Map<bigint, Buffer>();
  private nextFd = 100;
  private nextAddress = 0x10000n;

  constructor(
    /** Device types KVM_CREATE_DEVICE accepts (ENODEV for the others). */
    private readonly supported: readonly number[] = [KVM_DEV_TYPE.ARM_VGIC_V3, KVM_DEV_TYPE.ARM_VGIC_V2],
    /** The target KVM_ARM_PREFERRED_TARGET reports. */
    readonly preferredTarget = 5,
  ) {}

  address(buffer: ArrayBuffer | ArrayBufferView): bigint {
    const b = ArrayBuffer.isView(buffer) ? Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength) : Buffer.from(buffer);
    const addr = this.nextAddress;
    this.nextAddress += 0x1000n;
    this.pointers.set(addr, b);
    return addr;
  }

  private deref(addr: bigint): Buffer {
    const b = this.pointers.get(addr);
    if (b === undefined) throw new FakeErrno('EFAULT', `address 0x${addr.toString(16)}`);
    return b;
  }

  ioctl(fd: number, request: number, arg: ArrayBuffer | ArrayBufferView): number {
    const b = ArrayBuffer.isView(arg) ? Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength) : Buffer.from(arg);
    switch (request) {
      case KVM_IOCTL_ARM64.CREATE_DEVICE: {
        const type = b.readUInt32LE(0);
        this.log.push(`create_device type=${type}`);
        if (!this.supported.includes(type)) throw new FakeErrno('ENODEV', 'KVM_CREATE_DEVICE');
        if ([...this.devices.values()].length > 0) throw new FakeErrno('EEXIST', 'KVM_CREATE_DEVICE');
        const devFd = this.nextFd++;
        this.devices.set(devFd, { type, attrs: new Map(), initialised: false });
        b.writeUInt32LE(devFd, 4);
        return 0;
      }
      case KVM_IOCTL_ARM64.SET_DEVICE_ATTR: {
        const dev = this.devices.get(fd);
        if (dev === undefined) throw new FakeErrno('EBADF', 'KVM_SET_DEVICE_ATTR');
        const group = b.readUInt32LE(4);
        const attr = b.readBigUInt64LE(8);
        const addr = b.readBigUInt64LE(16);
        let value: bigint | undefined;
        if (addr !== 0n) {
          const v = this.deref(addr);
          value = v.length >= 8 ? v.readBigUInt64LE(0) : BigInt(v.readUInt32LE(0));
        }
        this.log.push(`set_attr group=${group} attr=${attr}${value === undefined ? '' : ` value=0x${value.toString(16)}`}`);
        if (dev.initialised) throw new FakeErrno('EBUSY', 'KVM_SET_DEVICE_ATTR after CTRL_INIT');
        if (group === KVM_DEV_ARM_VGIC_GRP.CTRL) {
          if (this.vcpus === 0) throw new FakeErrno('ENXIO', 'CTRL_INIT without vCPUs');
          dev.initialised = true;
        }
        dev.attrs.set(`${group}/${attr}`, value);
        return 0;
      }
      case KVM_IOCTL_ARM64.ARM_PREFERRED_TARGET:
        this.log.push('preferred_target');
        b.fill(0);
        b.writeUInt32LE(this.preferredTarget, 0);
        return 0;
      case KVM_IOCTL_ARM64.ARM_VCPU_INIT:
        this.vcpuInit = {
          target: b.readUInt32LE(0),
          features: Array.from({ length: KVM_VCPU_INIT.FEATURE_WORDS }, (_, i) => b.readUInt32LE(4 + i * 4)),
        };
        if (!this.vcpuInits.has(fd)) this.vcpuInits.set(fd, { id: this.vcpuInits.size, ...this.vcpuInit });
        this.log.push(`vcpu_init target=${this.vcpuInit.target} features0=0x${this.vcpuInit.features[0]!.toString(16)}`);
        return 0;
      case KVM_IOCTL_ARM64.SET_ONE_REG: {
        if (this.vcpuInit === undefined) throw new FakeErrno('ENOEXEC', 'KVM_SET_ONE_REG before KVM_ARM_VCPU_INIT');
        const id = b.readBigUInt64LE(0);
        const value = this.deref(b.readBigUInt64LE(8)).readBigUInt64LE(0);
        this.regs.set(id, value);
        this.log.push(`set_one_reg 0x${id.toString(16)}=0x${value.toString(16)}`);
        return 0;
      }
      case KVM_IOCTL_ARM64.GET_ONE_REG: {
        const id = b.readBigUInt64LE(0);
        const vcpu = this.vcpuInits.get(fd);
        // MPIDR_EL1 after reset: RES1 bit 31 and the affinity KVM derives from the vCPU id.
        const value = id === MPIDR_EL1 && vcpu !== undefined ? (1n << 31n) | BigInt(vcpuMpidr(vcpu.id)) : this.regs.get(id);
        if (value === undefined) throw new FakeErrno('ENOENT', 'KVM_GET_ONE_REG');
        this.deref(b.readBigUInt64LE(8)).writeBigUInt64LE(value, 0);
        return 0;
      }
      default:
        throw new FakeErrno('ENOTTY', `ioctl 0x${request.toString(16)}`);
    }
  }
}
