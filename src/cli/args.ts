// Command-line parsing for `tsvmm`. Pure: argv in, a typed config or a
// UsageError with one clear line out.
import { totalmem } from 'node:os';

import { DEFAULT_MEMORY, MAX_VCPUS, MIN_MEMORY, type CpuTemplate, type DiskConfig, type NetConfig, type SeccompMode, type VmConfig } from '../vmm/config.js';
import { TsvmmError } from '../base/errors.js';

export { DEFAULT_MEMORY, MIN_MEMORY };

/** What a run needs beyond the VM itself: the control plane's options (run.ts RunOptions). */
export interface ControlFlags {
  /** --log FILE: where tsvmm's own lines go instead of stderr. */
  readonly logFile: string | undefined;
  readonly apiSock: string | undefined;
  readonly configFile: string | undefined;
  readonly id: string | undefined;
  readonly metricsFile: string | undefined;
  readonly metricsIntervalSec: number | undefined;
}

export type ParseResult =
  | { kind: 'help' }
  | { kind: 'version' }
  /** The VM from flags. */
  | { kind: 'run'; config: VmConfig; control: ControlFlags; seccomp: SeccompMode }
  /** The VM from --config-file and/or the API socket. */
  | { kind: 'control'; control: ControlFlags; seccomp: SeccompMode };

export class UsageError extends TsvmmError {}

export const USAGE = `Usage: tsvmm -k KERNEL [options]

Boots a Linux guest under KVM with an 8250 console on this terminal.
Press Ctrl-A x to quit, Ctrl-A b to send a break (then a SysRq key), Ctrl-A Ctrl-A
to send Ctrl-A to the guest; Ctrl-A h lists these keys.

  -k, --kernel FILE      bzImage or uncompressed vmlinux (x86_64), Image (arm64)
  -i, --initrd FILE      initial ramdisk
  -d, --disk FILE[,ro]   raw disk image as virtio-blk (,ro: read-only); repeatable
      --append "ARGS"    kernel command line (also --cmdline)
  -m, --memory SIZE      guest RAM: 512M, 2G, or MiB as a plain number (default 1G)
  -c, --cpus N           vCPUs, 1 to 32 (default 1; KVM may allow fewer)
      --net tap[:NAME]   virtio-net on a TAP device (kernel-chosen or named); repeatable
      --mac XX:XX:XX:XX:XX:XX  the MAC of the --net before it (default: stable, locally administered)
      --cpu-template T   baseline (hide cx16, xsave, avx*, pcid...) or host (KVM's set)
      --seccomp[=log]    confine the VMM with a seccomp allowlist (log: audit only)
      --api-sock PATH    serve Firecracker's REST API on a Unix socket (the VM comes from it)
      --config-file FILE Firecracker's JSON configuration instead of -k, -i, -d, --net...
      --id ID            the instance id the API reports (default anonymous-instance)
      --metrics FILE     append the VM's counters as JSON lines (at FlushMetrics and exit)
      --metrics-interval SECONDS  also every SECONDS
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

const VALUED = ['--kernel', '--initrd', '--disk', '--append', '--cmdline', '--memory', '--seccomp', '--net', '--mac', '--cpu-template', '--cpus', '--api-sock', '--config-file', '--id', '--metrics', '--metrics-interval', '--log'];
/** Flags that describe the VM; --config-file and --api-sock describe it instead. */
const VM_FLAGS = new Set(['-k', '--kernel', '-i', '--initrd', '-d', '--disk', '--append', '--cmdline', '-m', '--memory', '-c', '--cpus', '--net', '--mac', '--cpu-template']);
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Parses `-c N`: a whole number in 1..MAX_VCPUS (KVM_CAP_MAX_VCPUS may lower the limit at run time). */
export function parseCpus(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--cpus ${text}: not a number of vCPUs (1-${MAX_VCPUS})`);
  const n = Number(text.trim());
  if (n < 1 || n > MAX_VCPUS) throw new UsageError(`--cpus ${text}: tsvmm gives a guest 1 to ${MAX_VCPUS} vCPUs`);
  return n;
}

/** What the flags said so far. */
interface Parsed {
  kernel: string;
  initrd: string | undefined;
  append: string | undefined;
  seccomp: SeccompMode;
  cpuTemplate: CpuTemplate | undefined;
  cpus: number;
  disks: DiskConfig[];
  nets: Array<{ tap: string | undefined; mac: string | undefined }>;
  memoryText: string | undefined;
  control: { -readonly [K in keyof ControlFlags]: ControlFlags[K] };
}

/** One option: reads its value with `value()` (inline `--x=v` or the next argument) into the state. */
type Handler = (st: Parsed, value: () => string, inline: string | undefined) => void;

function nonEmpty(flag: string, v: string, what: string): string {
  if (v === '') throw new UsageError(`${flag} needs ${what}`);
  return v;
}

const HANDLERS: Readonly<Record<string, Handler>> = {
  '--kernel': (st, value) => void (st.kernel = value()),
  '--initrd': (st, value) => void (st.initrd = value()),
  '--append': (st, value) => void (st.append = value()),
  '--memory': (st, value) => void (st.memoryText = value()),
  '--cpus': (st, value) => void (st.cpus = parseCpus(value())),
  '--disk': (st, value) => {
    const v = value();
    const ro = v.endsWith(',ro');
    const path = ro ? v.slice(0, -3) : v.replace(/,rw$/, '');
    if (path === '') throw new UsageError(`--disk ${v}: no file name`);
    st.disks.push({ path, readOnly: ro });
  },
  '--seccomp': (st, _value, inline) => {
    if (inline === undefined || inline === 'on' || inline === 'kill') st.seccomp = 'kill';
    else if (inline === 'log' || inline === 'off') st.seccomp = inline;
    else throw new UsageError(`--seccomp=${inline}: expected --seccomp, --seccomp=log or --seccomp=off`);
  },
  '--net': (st, value) => {
    const v = value();
    const m = /^tap(?::(.+))?$/.exec(v);
    if (!m) throw new UsageError(`--net ${v}: expected tap or tap:NAME`);
    const name = m[1];
    if (name !== undefined && (name.length > 15 || !/^[\w.-]+$/.test(name))) {
      throw new UsageError(`--net ${v}: interface names are at most 15 characters of [A-Za-z0-9_.-]`);
    }
    st.nets.push({ tap: name, mac: undefined });
  },
  '--mac': (st, value) => {
    const v = value();
    if (!MAC_RE.test(v)) throw new UsageError(`--mac ${v}: expected six hex bytes like 52:54:00:12:34:56`);
    if (parseInt(v.slice(0, 2), 16) & 1) throw new UsageError(`--mac ${v}: a multicast address cannot be a NIC's address`);
    const last = st.nets[st.nets.length - 1];
    if (last === undefined) throw new UsageError('--mac needs a --net before it');
    if (last.mac !== undefined) throw new UsageError(`--mac ${v}: that --net already has a MAC`);
    last.mac = v.toLowerCase();
  },
  '--cpu-template': (st, value) => {
    const v = value();
    if (v !== 'baseline' && v !== 'host') throw new UsageError(`--cpu-template ${v}: expected baseline or host`);
    st.cpuTemplate = v;
  },
  '--api-sock': (st, value) => void (st.control.apiSock = nonEmpty('--api-sock', value(), 'a socket path')),
  '--config-file': (st, value) => void (st.control.configFile = nonEmpty('--config-file', value(), 'a file')),
  '--id': (st, value) => {
    const v = value();
    if (!/^[\w.-]{1,64}$/.test(v)) throw new UsageError(`--id ${v}: 1 to 64 characters of [A-Za-z0-9_.-]`);
    st.control.id = v;
  },
  '--metrics': (st, value) => void (st.control.metricsFile = value()),
  '--metrics-interval': (st, value) => {
    const v = value();
    const n = Number(v);
    if (!/^\d+(\.\d+)?$/.test(v) || n < 1 || n > 86400) throw new UsageError(`--metrics-interval ${v}: seconds, 1 to 86400`);
    st.control.metricsIntervalSec = n;
  },
  '--log': (st, value) => {
    const v = nonEmpty('--log', value(), 'a file name');
    if (st.control.logFile !== undefined) throw new UsageError(`--log ${v}: only one --log`);
    st.control.logFile = v;
  },
};

/** Short and alternative spellings. */
const ALIASES: Readonly<Record<string, string>> = { '-k': '--kernel', '-i': '--initrd', '-d': '--disk', '--cmdline': '--append', '-m': '--memory', '-c': '--cpus' };

export function parseArgs(argv: readonly string[], hostMemory: number = totalmem()): ParseResult {
  const st: Parsed = {
    kernel: '',
    initrd: undefined,
    append: undefined,
    seccomp: 'off',
    cpuTemplate: undefined,
    cpus: 1,
    disks: [],
    nets: [],
    memoryText: undefined,
    control: { logFile: undefined, apiSock: undefined, configFile: undefined, id: undefined, metricsFile: undefined, metricsIntervalSec: undefined },
  };
  let vmFlag: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (inline !== undefined && !VALUED.includes(arg)) throw new UsageError(`${arg} takes no value`);
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '-V' || arg === '--version') return { kind: 'version' };
    const handler = HANDLERS[ALIASES[arg] ?? arg];
    if (handler === undefined) {
      if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg} (see tsvmm --help)`);
      throw new UsageError(`unexpected argument ${arg} (the kernel is given with -k)`);
    }
    if (VM_FLAGS.has(arg)) vmFlag ??= arg;
    handler(st, () => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    }, inline);
  }
  return finish(st, vmFlag, hostMemory);
}

function finish(st: Parsed, vmFlag: string | undefined, hostMemory: number): ParseResult {
  const { control, seccomp } = st;
  if (control.metricsIntervalSec !== undefined && control.metricsFile === undefined) throw new UsageError('--metrics-interval needs --metrics FILE');
  if (control.apiSock !== undefined || control.configFile !== undefined) {
    if (vmFlag !== undefined) throw new UsageError(`${vmFlag}: with ${control.configFile !== undefined ? '--config-file' : '--api-sock'} the VM is described there, not by flags`);
    return { kind: 'control', control, seccomp };
  }
  if (st.kernel === '') throw new UsageError('no kernel given: use -k KERNEL, --config-file FILE or --api-sock PATH (see tsvmm --help)');
  const memoryBytes = st.memoryText !== undefined ? parseMemorySize(st.memoryText, hostMemory) : DEFAULT_MEMORY;
  const config: VmConfig = { kernel: st.kernel, initrd: st.initrd, append: st.append, memoryBytes, cpus: st.cpus, disks: st.disks, nets: st.nets as NetConfig[], seccomp, cpuTemplate: st.cpuTemplate };
  return { kind: 'run', config, control, seccomp };
}
