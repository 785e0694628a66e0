// The /dev/kvm file descriptor: API version, capabilities, supported CPUID,
// and VM creation (rust-vmm kvm-ioctls' `Kvm`).
import { native, isErrno } from '../native/addon.js';
import { O } from '../native/linux.js';
import { KVM_API_VERSION, KVM_CAP, KVM_IOCTL } from './generated/uapi.js';
import { KvmError } from './errors.js';
import { VmFd } from './vm.js';

/** Default device path; TSVMM_KVM_DEVICE overrides it (tests use it for bad paths). */
export const DEFAULT_KVM_DEVICE = '/dev/kvm';

export function kvmDevicePath(env: NodeJS.ProcessEnv = process.env): string {
  return env['TSVMM_KVM_DEVICE'] || DEFAULT_KVM_DEVICE;
}

export class Kvm {
  private constructor(
    readonly fd: number,
    readonly path: string,
  ) {}

  /** Opens the KVM device, with an actionable message for each way this fails. */
  static open(path: string = kvmDevicePath()): Kvm {
    let fd: number;
    try {
      fd = native.open(path, O.RDWR, 0);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        throw new KvmError(`${path} does not exist: is KVM enabled (kvm_intel/kvm_amd module loaded, virtualization on in firmware)?`, { cause: err });
      }
      if (isErrno(err, 'EACCES') || isErrno(err, 'EPERM')) {
        throw new KvmError(`no permission to open ${path}: add your user to the 'kvm' group or run as root`, { cause: err });
      }
      throw new KvmError(`cannot open ${path}: ${(err as Error).message}`, { cause: err });
    }
    const kvm = new Kvm(fd, path);
    let version: number;
    try {
      version = native.ioctlInt(fd, KVM_IOCTL.GET_API_VERSION, 0);
    } catch (err) {
      native.close(fd);
      throw new KvmError(`${path} is not a KVM device (KVM_GET_API_VERSION failed: ${(err as Error).message})`, { cause: err });
    }
    if (version !== KVM_API_VERSION) {
      native.close(fd);
      throw new KvmError(`${path}: KVM API version ${version}, expected ${KVM_API_VERSION}`);
    }
    return kvm;
  }

  checkExtension(cap: number): number {
    return native.ioctlInt(this.fd, KVM_IOCTL.CHECK_EXTENSION, cap);
  }

  /** Throws a KvmError naming every missing capability. */
  requireExtensions(caps: Readonly<Record<string, number>>): void {
    const missing = Object.entries(caps)
      .filter(([, cap]) => this.checkExtension(cap) <= 0)
      .map(([name]) => `KVM_CAP_${name}`);
    if (missing.length > 0) throw new KvmError(`${this.path} lacks required capabilities: ${missing.join(', ')}`);
  }

  vcpuMmapSize(): number {
    return native.ioctlInt(this.fd, KVM_IOCTL.GET_VCPU_MMAP_SIZE, 0);
  }

  /**
   * KVM_GET_SUPPORTED_CPUID: the raw struct kvm_cpuid2 buffer (u32 nent, u32
   * pad, then 40-byte entries), grown until the kernel stops saying E2BIG.
   */
  supportedCpuid(): Buffer {
    for (let nent = 128; nent <= 4096; nent *= 2) {
      const buf = Buffer.alloc(8 + nent * 40);
      buf.writeUInt32LE(nent, 0);
      try {
        native.ioctl(this.fd, KVM_IOCTL.GET_SUPPORTED_CPUID, buf);
        return buf.subarray(0, 8 + buf.readUInt32LE(0) * 40);
      } catch (err) {
        if (!isErrno(err, 'E2BIG')) throw err;
      }
    }
    throw new KvmError('KVM_GET_SUPPORTED_CPUID: more than 4096 entries');
  }

  createVm(): VmFd {
    const fd = native.ioctlInt(this.fd, KVM_IOCTL.CREATE_VM, 0);
    return new VmFd(fd);
  }

  close(): void {
    native.close(this.fd);
  }
}

export { KVM_CAP };
