// createVm's options: a VM described the way a Node program thinks of one,
// checked and turned into the VMM's VmConfig (vmm/config.ts).
import { totalmem } from 'node:os';
import { MAX_VCPUS, MIN_MEMORY, type CpuTemplate, type VmConfig } from '../vmm/config.js';
import { VmOptionsError } from './errors.js';

export interface VmOptions {
  /** bzImage or vmlinux (x86_64), Image (arm64). */
  kernel: string;
  initrd?: string;
  /** Appended to tsvmm's base command line (console, panic, ...). */
  cmdline?: string;
  /** Guest RAM in MiB; default 1024. */
  memoryMiB?: number;
  /** vCPUs, 1 to 32; default 1. */
  cpus?: number;
  disks?: Array<{ path: string; readOnly?: boolean }>;
  /** TAP devices: `tap` names one (created if missing; omitted: the kernel picks), `mac` the guest's address. */
  nets?: Array<{ tap?: string; mac?: string }>;
  /** Confine the VMM process with its seccomp allowlist (`'log'`: audit only). Default false. */
  seccomp?: boolean | 'log';
  cpuTemplate?: CpuTemplate;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

function need(ok: boolean, message: string): void {
  if (!ok) throw new VmOptionsError(message);
}

export function toVmConfig(o: VmOptions, hostMemory: number = totalmem()): VmConfig {
  need(typeof o === 'object' && o !== null, 'createVm needs an options object');
  need(typeof o.kernel === 'string' && o.kernel !== '', 'kernel: the path of a kernel image is required');
  need(o.initrd === undefined || (typeof o.initrd === 'string' && o.initrd !== ''), 'initrd: a path, or leave it out');
  need(o.cmdline === undefined || typeof o.cmdline === 'string', 'cmdline: a string');
  const memoryMiB = o.memoryMiB ?? 1024;
  need(Number.isSafeInteger(memoryMiB) && memoryMiB * 1024 * 1024 >= MIN_MEMORY, `memoryMiB ${memoryMiB}: a whole number of at least ${MIN_MEMORY >> 20}`);
  need(memoryMiB * 1024 * 1024 <= hostMemory, `memoryMiB ${memoryMiB}: more than this host's ${Math.floor(hostMemory / 2 ** 20)} MiB of RAM`);
  const cpus = o.cpus ?? 1;
  need(Number.isInteger(cpus) && cpus >= 1 && cpus <= MAX_VCPUS, `cpus ${cpus}: tsvmm gives a guest 1 to ${MAX_VCPUS} vCPUs`);
  const disks = (o.disks ?? []).map((d, i) => {
    need(typeof d?.path === 'string' && d.path !== '', `disks[${i}].path: the path of a raw disk image is required`);
    return { path: d.path, readOnly: d.readOnly === true };
  });
  const nets = (o.nets ?? []).map((n, i) => {
    need(n?.tap === undefined || (typeof n.tap === 'string' && /^[\w.-]{1,15}$/.test(n.tap)), `nets[${i}].tap: an interface name of at most 15 characters of [A-Za-z0-9_.-]`);
    need(n?.mac === undefined || (typeof n.mac === 'string' && MAC.test(n.mac) && (parseInt(n.mac.slice(0, 2), 16) & 1) === 0), `nets[${i}].mac: a unicast address like 52:54:00:12:34:56`);
    return { tap: n?.tap, mac: n?.mac?.toLowerCase() };
  });
  need(o.cpuTemplate === undefined || o.cpuTemplate === 'baseline' || o.cpuTemplate === 'host', 'cpuTemplate: baseline or host');
  const seccomp = o.seccomp === true ? 'kill' : o.seccomp === 'log' ? 'log' : 'off';
  return { kernel: o.kernel, initrd: o.initrd, append: o.cmdline, memoryBytes: memoryMiB * 1024 * 1024, cpus, disks, nets, seccomp, cpuTemplate: o.cpuTemplate };
}
