// Command-line parsing for `tsvmm`. Pure: argv in, a typed config or a
// UsageError with one clear line out.
import { totalmem } from 'node:os';

import { DEFAULT_MEMORY, MAX_VCPUS, MIN_MEMORY, type CpuTemplate, type DiskConfig, type NetConfig, type SeccompMode, type VmConfig } from '../vmm/config.js';

export { DEFAULT_MEMORY, MIN_MEMORY };

/** `logFile`: --log FILE, where tsvmm's own lines go instead of stderr (the CLI's business, not the VM's). */
export type ParseResult = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: VmConfig; logFile: string | undefined };

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE = `Usage: tsvmm -k KERNEL [options]

Boots a Linux guest under KVM with an 8250 console on this terminal.
Press Ctrl-A x to quit, Ctrl-A b to send a break (then a SysRq key), Ctrl-A Ctrl-A
to send Ctrl-A to the guest; Ctrl-A h lists these keys.

  -k, --kernel FILE      bzImage or uncompressed vmlinux (x86_64), Image (arm64)
  -i, --initrd FILE      initial ramdisk
  -d, --disk FILE[,ro]   raw disk image as virtio-blk (,ro: read-only); repeatable
      --append "ARGS"    kernel command line (also --cmdline)
  -m, --memory SIZE      guest RAM: 512M, 2G, or MiB as a plain number (default 1G)
      --net tap[:NAME]   virtio-net on a TAP device (kernel-chosen or named); repeatable
      --mac XX:XX:XX:XX:XX:XX  the MAC of the --net before it (default: stable, locally administered)
      --cpu-template T   baseline (hide cx16, xsave, avx*, pcid...) or host (KVM's set)
      --seccomp[=log]    confine the VMM with a seccomp allowlist (log: audit only)
      --log FILE         tsvmm's own lines to FILE (appended; created 0600) instead of stderr
  -h, --help             this text
  -V, --version          print the version

Environment: TSVMM_KVM_DEVICE overrides /dev/kvm.`;

const UNITS: Record<string, number> = { '': 1024 * 1024, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses `512M`, `2G`, `1024` (MiB). Throws UsageError naming the bad value. */
export function parseMemorySize(text: string, hostMemory: number = totalmem()): number {
  const m = /^(\d+)([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`-m ${text}: not a size (use e.g. 512M, 2G, or MiB as a number)`);
  const bytes = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(bytes) || bytes === 0) throw new UsageError(`-m ${text}: guest memory must be greater than zero`);
  if (bytes < MIN_MEMORY) throw new UsageError(`-m ${text}: at least ${MIN_MEMORY >> 20} MiB is needed`);
  if (bytes % 4096 !== 0) throw new UsageError(`-m ${text}: must be a multiple of 4 KiB`);
  if (bytes > hostMemory) {
    throw new UsageError(`-m ${text}: ${fmtGiB(bytes)} is more than this host's ${fmtGiB(hostMemory)} of RAM`);
  }
  return bytes;
}

function fmtGiB(n: number): string {
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

const VALUED = ['--kernel', '--initrd', '--disk', '--append', '--cmdline', '--memory', '--seccomp', '--net', '--mac', '--cpu-template', '--cpus', '--log'];
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Parses `-c N`: a whole number in 1..MAX_VCPUS (KVM_CAP_MAX_VCPUS may lower the limit at run time). */
export function parseCpus(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--cpus ${text}: not a number of vCPUs (1-${MAX_VCPUS})`);
  const n = Number(text.trim());
  if (n < 1 || n > MAX_VCPUS) throw new UsageError(`--cpus ${text}: tsvmm gives a guest 1 to ${MAX_VCPUS} vCPUs`);
  return n;
}

export function parseArgs(argv: readonly string[], hostMemory: number = totalmem()): ParseResult {
  let kernel = '';
  let initrd: string | undefined;
  let append: string | undefined;
  let seccomp: SeccompMode = 'off';
  let cpuTemplate: CpuTemplate | undefined;
  let cpus = 1;
  const disks: DiskConfig[] = [];
  const nets: Array<{ tap: string | undefined; mac: string | undefined }> = [];
  let memoryText: string | undefined;
  let logFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (inline !== undefined && !VALUED.includes(arg)) {
      throw new UsageError(`${arg} takes no value`);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '-h':
      case '--help':
        return { kind: 'help' };
      case '-V':
      case '--version':
        return { kind: 'version' };
      case '-k':
      case '--kernel':
        kernel = value();
        break;
      case '-i':
      case '--initrd':
        initrd = value();
        break;
      case '-d':
      case '--disk': {
        const v = value();
        const ro = v.endsWith(',ro');
        const path = ro ? v.slice(0, -3) : v.replace(/,rw$/, '');
        if (path === '') throw new UsageError(`--disk ${v}: no file name`);
        disks.push({ path, readOnly: ro });
        break;
      }
      case '--append':
      case '--cmdline':
        append = value();
        break;
      case '-m':
      case '--memory':
        memoryText = value();
        break;
      case '-c':
      case '--cpus':
        cpus = parseCpus(value());
        break;
      case '--seccomp':
        if (inline === undefined || inline === 'on' || inline === 'kill') seccomp = 'kill';
        else if (inline === 'log') seccomp = 'log';
        else if (inline === 'off') seccomp = 'off';
        else throw new UsageError(`--seccomp=${inline}: expected --seccomp, --seccomp=log or --seccomp=off`);
        break;
      case '--net': {
        const v = value();
        const m = /^tap(?::(.+))?$/.exec(v);
        if (!m) throw new UsageError(`--net ${v}: expected tap or tap:NAME`);
        const name = m[1];
        if (name !== undefined && (name.length > 15 || !/^[\w.-]+$/.test(name))) {
          throw new UsageError(`--net ${v}: interface names are at most 15 characters of [A-Za-z0-9_.-]`);
        }
        nets.push({ tap: name, mac: undefined });
        break;
      }
      case '--mac': {
        const v = value();
        if (!MAC_RE.test(v)) throw new UsageError(`--mac ${v}: expected six hex bytes like 52:54:00:12:34:56`);
        if (parseInt(v.slice(0, 2), 16) & 1) throw new UsageError(`--mac ${v}: a multicast address cannot be a NIC's address`);
        const last = nets[nets.length - 1];
        if (last === undefined) throw new UsageError('--mac needs a --net before it');
        if (last.mac !== undefined) throw new UsageError(`--mac ${v}: that --net already has a MAC`);
        last.mac = v.toLowerCase();
        break;
      }
      case '--log': {
        const v = value();
        if (v === '') throw new UsageError('--log needs a file name');
        if (logFile !== undefined) throw new UsageError(`--log ${v}: only one --log`);
        logFile = v;
        break;
      }
      case '--cpu-template': {
        const v = value();
        if (v !== 'baseline' && v !== 'host') throw new UsageError(`--cpu-template ${v}: expected baseline or host`);
        cpuTemplate = v;
        break;
      }
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg} (see tsvmm --help)`);
        throw new UsageError(`unexpected argument ${arg} (the kernel is given with -k)`);
    }
  }
  if (kernel === '') throw new UsageError('no kernel given: use -k KERNEL (see tsvmm --help)');
  const memoryBytes = memoryText !== undefined ? parseMemorySize(memoryText, hostMemory) : DEFAULT_MEMORY;
  const config: VmConfig = { kernel, initrd, append, memoryBytes, cpus, disks, nets: nets as NetConfig[], seccomp, cpuTemplate };
  return { kind: 'run', config, logFile };
}
