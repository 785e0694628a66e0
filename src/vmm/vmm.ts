// The builder: turns a VmConfig into a running VM. It opens KVM, lays out
// guest RAM, loads the kernel through the architecture hooks, starts the vCPU
// worker, optionally seals the process with seccomp, and feeds the terminal to
// the guest's console until the guest stops or the user quits.
import { Worker } from 'node:worker_threads';
import { hostArch } from '../arch/index.js';
import type { VmConfig } from './config.js';
import { BREAK, ConsoleEscape, ESCAPE_HELP } from '../cli/escape.js';
import { Kvm } from '../kvm/system.js';
import { GuestMemory } from '../memory/guest_memory.js';
import { native } from '../native/addon.js';
import { EFD } from '../native/linux.js';
import { CONSOLE_FLAG, type VcpuWorkerData, type VcpuWorkerMessage } from '../vcpu/protocol.js';
import { readInputFile } from './files.js';
import { KernelFormatError } from '../loader/errors.js';
import { SharedRing } from './shared_ring.js';
import { openDisk } from '../devices/virtio/block/disk.js';
import { openTap } from '../devices/virtio/net/tap.js';
import { defaultMac, formatMac, parseMac } from '../devices/virtio/net/mac.js';
import { createVirtioSpec, type VirtioDeviceSpec } from './virtio_spec.js';

/** One vCPU (index 0); the architecture's tables describe exactly one. */
const VCPU_COUNT = 1;
/** Slot 0 is the host bridge; devices follow. */
const FIRST_PCI_SLOT = 1;
/** Room for each device's BAR 0 in the PCI window (the virtio BAR is 32 KiB; keep 64 KiB alignment). */
const BAR_STRIDE = 0x10000;

/** How the VMM talks to whoever started it (the supervisor, or a test). */
export interface VmmHost {
  /** One line for the user (stderr). */
  log(line: string): void;
  /** The guest is about to run: the terminal may go raw now. */
  guestStarting(): void;
}

const CONSOLE_RING_BYTES = 4096;
/** ARM64 and x86 kernels and initrds above this are surely a wrong file. */
const MAX_IMAGE_BYTES = 2 * 1024 ** 3 - 1;

export async function runVmm(config: VmConfig, host: VmmHost): Promise<number> {
  const arch = await hostArch();
  // The seccomp code and tables only when asked for, and before the seal:
  // nothing is loaded after it.
  const mode = config.seccomp;
  const seal = mode === 'off' ? undefined : await import('./seal.js').then((m) => () => m.sealProcess(arch.name, mode, host));
  const kernel = readInputFile('kernel', config.kernel, Math.min(config.memoryBytes, MAX_IMAGE_BYTES));
  const initrd = config.initrd === undefined ? undefined : readInputFile('initrd', config.initrd, Math.min(config.memoryBytes, MAX_IMAGE_BYTES));
  const quirk = arch.hostQuirk();
  const cmdline = [arch.baseCmdline(), quirk?.cmdline, config.append].filter((s) => s !== undefined && s !== '').join(' ');
  // Parse and place everything before touching /dev/kvm: bad files fail first.
  let plan;
  try {
    plan = arch.prepareBoot({ kernel, initrd, cmdline }, config.memoryBytes);
  } catch (err) {
    if (err instanceof KernelFormatError) throw new KernelFormatError(`kernel ${config.kernel}: ${err.message}`);
    throw err;
  }

  if (config.cpus !== VCPU_COUNT) throw new Error(`--cpus ${config.cpus}: this build runs one vCPU`);
  // Devices whose files must open before anything else happens.
  const virtio: VirtioDeviceSpec[] = [];
  const nextSlot = (): { slot: number; bar: number } => ({ slot: FIRST_PCI_SLOT + virtio.length, bar: arch.pciMmioWindow.start + virtio.length * BAR_STRIDE });
  for (const d of config.disks) {
    const disk = openDisk({ path: d.path, readOnly: d.readOnly });
    if (disk.readOnly && !d.readOnly) host.log(`disk image ${disk.path} is read-only: the guest gets a read-only disk`);
    const { slot, bar } = nextSlot();
    virtio.push(createVirtioSpec({ kind: 'blk', fd: disk.fd, size: disk.size, readOnly: disk.readOnly, serial: disk.serial }, 1, slot, bar, arch.pciIntxGsi(slot)));
  }

  for (const n of config.nets) {
    const tap = openTap(n.tap);
    const mac = n.mac !== undefined ? parseMac(n.mac) : defaultMac(tap.name);
    host.log(`net: TAP ${tap.name}, guest MAC ${formatMac(mac)}`);
    const { slot, bar } = nextSlot();
    virtio.push(createVirtioSpec({ kind: 'net', tapFd: tap.fd, tapName: tap.name, mac: [...mac] }, 2, slot, bar, arch.pciIntxGsi(slot)));
  }

  const kvm = Kvm.open();
  kvm.requireExtensions(arch.requiredCaps);
  const vm = kvm.createVm();
  const { memory, descriptor } = GuestMemory.create(arch.ramRegions(config.memoryBytes));
  memory.slots().forEach((s, slot) => vm.setUserMemoryRegion(slot, s.gpa, s.size, native.address(s.buffer)));
  arch.setupVm(kvm, vm);

  if (quirk) host.log(quirk.notice);
  const boot = arch.loadKernel(memory, plan, { pci: virtio.map((v) => ({ slot: v.slot, gsi: v.intxGsi })) });

  const vcpuFd = vm.createVcpu(0);
  arch.setupVcpu(kvm, vm, vcpuFd, boot, config.cpuTemplate);
  // The interrupt controller is complete only now (arm64's vGIC needs its
  // vCPUs first), and KVM attaches irqfds only to a complete one.
  arch.finishVm(kvm, vm, VCPU_COUNT);
  for (const v of virtio) vm.irqfd(v.intxFd, v.intxGsi, { resampleFd: v.intxResampleFd });

  // Console input: terminal -> ring -> UART on the vCPU thread. A write to
  // `kick` pulses the UART's interrupt line (irqfd) so an idle guest wakes.
  const ring = new SharedRing(CONSOLE_RING_BYTES);
  const consoleFlags = new SharedArrayBuffer(4);
  const flags = new Int32Array(consoleFlags);
  const kick = native.eventfd(0, EFD.NONBLOCK);
  vm.irqfd(kick, arch.consoleGsi);

  const go = new Int32Array(new SharedArrayBuffer(4));
  const data: VcpuWorkerData = {
    arch: arch.name,
    vmFd: vm.fd,
    vcpuFd,
    mmapSize: kvm.vcpuMmapSize(),
    memory: descriptor,
    consoleRing: ring.buffer,
    consoleFlags,
    stdoutFd: 1,
    virtio,
    go,
  };
  const worker = new Worker(new URL('../vcpu/worker.js', import.meta.url), { workerData: data });
  // Each virtio device's queues are served by a worker of its own. All workers
  // must be up (their modules loaded) before seccomp seals the process.
  const deviceWorkers = virtio.map((spec) => new Worker(new URL('./device_worker.js', import.meta.url), { workerData: { memory: descriptor, spec } }));
  let pendingReady = deviceWorkers.length + 1;

  return new Promise<number>((resolve, reject) => {
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      process.stdin.pause();
      resolve(code);
    };
    const onReady = (): void => {
      if (--pendingReady > 0) return;
      // stdin is opened before the seal: libuv may reopen a terminal (openat).
      startConsoleInput(ring, flags, kick, host, () => finish(0));
      try {
        seal?.();
      } catch (err) {
        reject(err);
        return;
      }
      host.guestStarting();
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
    };
    for (const w of deviceWorkers) {
      w.on('message', (msg: { kind: string; line?: string }) => {
        if (msg.kind === 'ready') onReady();
        else if (msg.kind === 'log' && msg.line !== undefined) host.log(msg.line);
      });
      w.on('error', (err) => {
        host.log(`device thread failed: ${err.message}`);
        finish(1);
      });
    }
    worker.on('message', (msg: VcpuWorkerMessage) => {
      if (msg.kind === 'ready') {
        onReady();
      } else if (msg.kind === 'log') {
        host.log(msg.line);
      } else if (msg.kind === 'stopped') {
        if (msg.stop.code !== 0) host.log(msg.stop.reason);
        finish(msg.stop.code);
      } else {
        host.log(`vCPU thread failed: ${msg.message}`);
        finish(1);
      }
    });
    worker.on('error', (err) => {
      host.log(`vCPU thread failed: ${err.message}`);
      finish(1);
    });
  });
}


const KICK = new BigUint64Array([1n]);

/** Terminal -> escape handling -> ring; kicks the UART when it wants RX interrupts. */
function startConsoleInput(ring: SharedRing, flags: Int32Array, kick: number, host: VmmHost, quit: () => void): void {
  const escape = new ConsoleEscape();
  const out: number[] = [];
  let backlog: number[] = [];
  const drain = (): void => {
    let moved = false;
    while (backlog.length > 0) {
      if (backlog[0] === BREAK) {
        if (!ring.pushBreak()) break; // the last BREAK is still unread: retry
        backlog = backlog.slice(1);
        moved = true;
        continue;
      }
      const end = backlog.indexOf(BREAK);
      const n = ring.push(end < 0 ? backlog : backlog.slice(0, end));
      backlog = backlog.slice(n);
      moved ||= n > 0;
      if (n === 0 || (end >= 0 && n < end)) break; // the ring is full
    }
    if (moved && Atomics.load(flags, CONSOLE_FLAG.RX_IRQ_ENABLED) !== 0) native.write(kick, KICK);
    if (backlog.length > 0) {
      setTimeout(drain, 5);
    } else if (process.stdin.isPaused()) {
      process.stdin.resume();
    }
  };
  process.stdin.on('data', (chunk: Buffer) => {
    out.length = 0;
    const action = escape.feed(chunk, out);
    if (out.length > 0) {
      const wasEmpty = backlog.length === 0;
      backlog.push(...out);
      if (wasEmpty) drain();
      if (backlog.length > 65536) process.stdin.pause();
    }
    if (action === 'quit') quit();
    else if (action === 'help') host.log(ESCAPE_HELP);
  });
  process.stdin.on('error', () => {
    // stdin went away (closed terminal): the guest runs on without input.
  });
}
