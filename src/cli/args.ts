// Command-line parsing for `tsvmm`. Pure: argv in, a typed config or a
// UsageError with one clear line out.
import { totalmem } from 'node:os';

export type SeccompMode = 'off' | 'kill' | 'log';
export type CpuTemplate = 'baseline' | 'host';

export interface DiskSpec {
  path: string;
  readOnly: boolean;
}

export interface NetSpec {
  kind: 'tap';
  /** TAP name, or undefined to let the kernel pick from the `tap%d` template. */
  name: string | undefined;
}

export interface VmConfig {
  kernel: string;
  initrd: string | undefined;
  disk: DiskSpec | undefined;
  append: string | undefined;
  memoryBytes: number;
  seccomp: SeccompMode;
  net: NetSpec | undefined;
  mac: string | undefined;
  cpuTemplate: CpuTemplate | undefined;
}

export type ParseResult = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: VmConfig };

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
  -d, --disk FILE[,ro]   raw disk image as virtio-blk (,ro: read-only)
      --append "ARGS"    kernel command line (also --cmdline)
  -m, --memory SIZE      guest RAM: 512M, 2G, or MiB as a plain number (default 1G)
      --net tap[:NAME]   virtio-net on a TAP device (kernel-chosen or named)
      --mac XX:XX:XX:XX:XX:XX  guest MAC address (default: stable, locally administered)
      --cpu-template T   baseline (hide cx16, xsave, avx*, pcid...) or host (KVM's set)
      --seccomp[=log]    confine the VMM with a seccomp allowlist (log: audit only)
  -h, --help             this text
  -V, --version          print the version

Environment: TSVMM_KVM_DEVICE overrides /dev/kvm.`;

/** Smallest RAM a guest can have; below this no kernel we load fits. */
export const MIN_MEMORY = 16 * 1024 * 1024;
export const DEFAULT_MEMORY = 1024 * 1024 * 1024;

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

const VALUED = ['--kernel', '--initrd', '--disk', '--append', '--cmdline', '--memory', '--seccomp', '--net', '--mac', '--cpu-template'];
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function parseArgs(argv: readonly string[], hostMemory: number = totalmem()): ParseResult {
  const c: VmConfig = {
    kernel: '',
    initrd: undefined,
    disk: undefined,
    append: undefined,
    memoryBytes: DEFAULT_MEMORY,
    seccomp: 'off',
    net: undefined,
    mac: undefined,
    cpuTemplate: undefined,
  };
  let memoryText: string | undefined;
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
        c.kernel = value();
        break;
      case '-i':
      case '--initrd':
        c.initrd = value();
        break;
      case '-d':
      case '--disk': {
        if (c.disk) throw new UsageError('only one --disk is supported');
        const v = value();
        const ro = v.endsWith(',ro');
        const path = ro ? v.slice(0, -3) : v.replace(/,rw$/, '');
        if (path === '') throw new UsageError(`--disk ${v}: no file name`);
        c.disk = { path, readOnly: ro };
        break;
      }
      case '--append':
      case '--cmdline':
        c.append = value();
        break;
      case '-m':
      case '--memory':
        memoryText = value();
        break;
      case '--seccomp':
        if (inline === undefined || inline === 'on' || inline === 'kill') c.seccomp = 'kill';
        else if (inline === 'log') c.seccomp = 'log';
        else if (inline === 'off') c.seccomp = 'off';
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
        c.net = { kind: 'tap', name };
        break;
      }
      case '--mac': {
        const v = value();
        if (!MAC_RE.test(v)) throw new UsageError(`--mac ${v}: expected six hex bytes like 52:54:00:12:34:56`);
        if (parseInt(v.slice(0, 2), 16) & 1) throw new UsageError(`--mac ${v}: a multicast address cannot be a NIC's address`);
        c.mac = v.toLowerCase();
        break;
      }
      case '--cpu-template': {
        const v = value();
        if (v !== 'baseline' && v !== 'host') throw new UsageError(`--cpu-template ${v}: expected baseline or host`);
        c.cpuTemplate = v;
        break;
      }
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg} (see tsvmm --help)`);
        throw new UsageError(`unexpected argument ${arg} (the kernel is given with -k)`);
    }
  }
  if (c.kernel === '') throw new UsageError('no kernel given: use -k KERNEL (see tsvmm --help)');
  if (c.mac !== undefined && c.net === undefined) throw new UsageError('--mac needs --net');
  if (memoryText !== undefined) c.memoryBytes = parseMemorySize(memoryText, hostMemory);
  return { kind: 'run', config: c };
}
