// Phase 1 of building a VM: everything that can fail on the user's input
// before /dev/kvm is touched. Reads the kernel and initrd, builds the command
// line, lets the architecture parse and place the kernel, opens the disk
// images and TAP devices, and lays the virtio devices out on the PCI bus.
import type { Arch, BootPlan, HostQuirk } from '../arch/arch.js';
import { openDisk } from '../devices/virtio/block/disk.js';
import { VIRTIO_KINDS } from '../devices/virtio/kinds.js';
import { defaultMac, formatMac, parseMac } from '../devices/virtio/net/mac.js';
import { openTap } from '../devices/virtio/net/tap.js';
import { createVirtioSpec, type VirtioBackendSpec, type VirtioDeviceSpec } from '../devices/virtio/spec.js';
import { KernelFormatError } from '../loader/errors.js';
import type { VmConfig } from './config.js';
import { readInputFile } from './files.js';

/** Slot 0 is the host bridge; devices follow. */
const FIRST_PCI_SLOT = 1;
/** Room for each device's BAR 0 in the PCI window (the virtio BAR is 32 KiB; keep 64 KiB alignment). */
const BAR_STRIDE = 0x10000;
/** Kernels and initrds above this are surely a wrong file. */
const MAX_IMAGE_BYTES = 2 * 1024 ** 3 - 1;

export interface PreparedVm {
  readonly config: VmConfig;
  readonly arch: Arch;
  readonly boot: BootPlan;
  /** The quirk of this host (a nested PVM KVM), if any; its notice is logged once KVM is open. */
  readonly quirk: HostQuirk | undefined;
  readonly virtio: readonly VirtioDeviceSpec[];
}

export function prepareVm(config: VmConfig, arch: Arch, log: (line: string) => void): PreparedVm {
  const maxImage = Math.min(config.memoryBytes, MAX_IMAGE_BYTES);
  const kernel = readInputFile('kernel', config.kernel, maxImage);
  const initrd = config.initrd === undefined ? undefined : readInputFile('initrd', config.initrd, maxImage);
  const quirk = arch.hostQuirk();
  const cmdline = [arch.baseCmdline(), quirk?.cmdline, config.append].filter((s) => s !== undefined && s !== '').join(' ');
  let boot: BootPlan;
  try {
    boot = arch.prepareBoot({ kernel, initrd, cmdline }, config.memoryBytes);
  } catch (err) {
    if (err instanceof KernelFormatError) throw new KernelFormatError(`kernel ${config.kernel}: ${err.message}`, { cause: err });
    throw err;
  }

  const virtio: VirtioDeviceSpec[] = [];
  const addVirtio = (backend: VirtioBackendSpec): void => {
    const slot = FIRST_PCI_SLOT + virtio.length;
    const barGpa = arch.pciMmioWindow.start + virtio.length * BAR_STRIDE;
    if (barGpa + BAR_STRIDE > arch.pciMmioWindow.end) throw new RangeError(`too many PCI devices: ${virtio.length + 1} do not fit the PCI window`);
    virtio.push(createVirtioSpec(backend, VIRTIO_KINDS[backend.kind].queues, { slot, barGpa, intxGsi: arch.pciIntxGsi(slot) }));
  };
  for (const d of config.disks) {
    const disk = openDisk({ path: d.path, readOnly: d.readOnly });
    if (disk.readOnly && !d.readOnly) log(`disk image ${disk.path} is read-only: the guest gets a read-only disk`);
    addVirtio({ kind: 'blk', fd: disk.fd, size: disk.size, readOnly: disk.readOnly, serial: disk.serial });
  }
  for (const n of config.nets) {
    const tap = openTap(n.tap);
    const mac = n.mac !== undefined ? parseMac(n.mac) : defaultMac(tap.name);
    log(`net: TAP ${tap.name}, guest MAC ${formatMac(mac)}`);
    addVirtio({ kind: 'net', tapFd: tap.fd, tapName: tap.name, mac: [...mac] });
  }
  return { config, arch, boot, quirk, virtio };
}
