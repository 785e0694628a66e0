// The pre-boot state of a Firecracker-style VM: what the API's PUTs (or a
// config file's sections) have set so far, and the VmConfig it becomes at
// InstanceStart. Pure: no file is opened here. (The API process may already
// be sealed by seccomp when requests arrive, so paths are checked by the VMM
// when it boots, and a missing file fails InstanceStart with the VMM's line.)

import type { SeccompMode, VmConfig } from '../../vmm/config.js';
import { MIB, type BootSource, type Drive, type MachineConfig, type NetworkInterface } from './bodies.js';
import { dropPciOff } from './boot_args.js';
import { ApiError } from './errors.js';

/**
 * Firecracker's defaults before any PUT /machine-config: 1 vCPU and 128 MiB
 * (its MachineConfiguration docs). tsvmm's own CLI default (1 GiB) does not
 * apply here: an API client sees the values Firecracker would report.
 */
export const FC_DEFAULT_MACHINE: MachineConfig = { vcpuCount: 1, memSizeMib: 128 };

/** The root device is the first disk, which the guest names vda (virtio-blk, PCI slot order). */
const ROOT_DEVICE = '/dev/vda';

export interface ResourceOptions {
  /** Not part of the Firecracker API: the CLI's --seccomp, passed through to the VmConfig. */
  readonly seccomp: SeccompMode;
  /** One line for the user (e.g. that pci=off was dropped). */
  readonly log: (line: string) => void;
}

export class VmResources {
  private machine: MachineConfig = FC_DEFAULT_MACHINE;
  private boot: (BootSource & { readonly cleanedArgs: string | undefined }) | undefined;
  /** In the order each id was first PUT; the root device is moved first at boot. */
  private readonly drives: Drive[] = [];
  private readonly nets: NetworkInterface[] = [];

  constructor(private readonly options: ResourceOptions) {}

  get machineConfig(): MachineConfig {
    return this.machine;
  }

  setMachineConfig(config: MachineConfig): void {
    this.machine = config;
  }

  updateMachineConfig(patch: Partial<MachineConfig>): void {
    this.machine = { ...this.machine, ...patch };
  }

  setBootSource(source: BootSource): void {
    const cleaned = source.bootArgs === undefined ? { args: undefined, notice: undefined } : dropPciOff(source.bootArgs);
    if (cleaned.notice !== undefined) this.options.log(cleaned.notice);
    this.boot = { ...source, cleanedArgs: cleaned.args };
  }

  /** Adds a drive, or replaces the one with the same id in its place. At most one root device. */
  putDrive(drive: Drive): void {
    const root = this.drives.find((d) => d.isRootDevice && d.driveId !== drive.driveId);
    if (drive.isRootDevice && root !== undefined) {
      throw new ApiError(`A root block device already exists: drive "${root.driveId}"; drive "${drive.driveId}" cannot be a second one`);
    }
    replaceOrAppend(this.drives, drive, (d) => d.driveId === drive.driveId);
  }

  /** Adds an interface, or replaces the one with the same id. TAP names and MACs must be unique. */
  putNetworkInterface(net: NetworkInterface): void {
    for (const other of this.nets) {
      if (other.ifaceId === net.ifaceId) continue;
      if (other.hostDevName === net.hostDevName) {
        throw new ApiError(`The host device name ${net.hostDevName} is already in use by network interface "${other.ifaceId}"`);
      }
      if (net.guestMac !== undefined && other.guestMac === net.guestMac) {
        throw new ApiError(`The MAC address ${net.guestMac} is already in use by network interface "${other.ifaceId}"`);
      }
    }
    replaceOrAppend(this.nets, net, (n) => n.ifaceId === net.ifaceId);
  }

  /**
   * The VmConfig to boot. `append` is boot_args (without pci=off) followed,
   * when a root device is set, by `root=/dev/vda rw|ro` as Firecracker adds
   * it; tsvmm's VMM always puts its own base options (console, reboot,
   * panic) before `append`, so Firecracker's default boot_args (used when
   * none are given) are not needed.
   */
  toVmConfig(): VmConfig {
    if (this.boot === undefined) {
      throw new ApiError('Cannot start microvm without kernel configuration: PUT /boot-source first');
    }
    const root = this.drives.find((d) => d.isRootDevice);
    const ordered = root === undefined ? this.drives : [root, ...this.drives.filter((d) => d !== root)];
    const rootArgs = root === undefined ? undefined : `root=${root.partuuid !== undefined ? `PARTUUID=${root.partuuid}` : ROOT_DEVICE} ${root.isReadOnly ? 'ro' : 'rw'}`;
    const append = [this.boot.cleanedArgs, rootArgs].filter((s) => s !== undefined).join(' ');
    return {
      kernel: this.boot.kernelImagePath,
      initrd: this.boot.initrdPath,
      append: append === '' ? undefined : append,
      memoryBytes: this.machine.memSizeMib * MIB,
      cpus: this.machine.vcpuCount,
      disks: ordered.map((d) => ({ path: d.pathOnHost, readOnly: d.isReadOnly })),
      nets: this.nets.map((n) => ({ tap: n.hostDevName, mac: n.guestMac })),
      seccomp: this.options.seccomp,
      cpuTemplate: undefined,
    };
  }
}

function replaceOrAppend<T>(list: T[], item: T, same: (x: T) => boolean): void {
  const at = list.findIndex(same);
  if (at >= 0) list[at] = item;
  else list.push(item);
}
