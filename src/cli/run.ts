// A run of the CLI: the VM described by flags, by `--config-file`
// (Firecracker's JSON layout), or later through `--api-sock` (Firecracker's
// REST API on a Unix socket). The VMM process is spawned first and waits for
// its configuration; the API server (if any) listens; with --seccomp and an
// API socket this process then seals itself with the API policy (it may only
// signal and reap that one child); the flags, the config file or
// InstanceStart hand the configuration over. The VM's end ends tsvmm, as
// Firecracker's does. This process keeps the terminal (supervisor.ts).
import { VmProcess } from '../api/process.js';
import type { InstanceState, VmController } from '../api/firecracker/controller.js';
import type { SeccompMode, VmConfig } from '../vmm/config.js';
import { attachTerminal, exitCodeOf, Terminal } from './supervisor.js';
import { MetricsFile } from './metrics_file.js';
import { UsageError } from './args.js';
import { LogFileError, openLogFile } from '../console/log_file.js';

export interface RunOptions {
  /** --log FILE: where tsvmm's own lines go instead of stderr. */
  readonly logFile: string | undefined;
  /** The VM from the command-line flags (mutually exclusive with configFile). */
  readonly config: VmConfig | undefined;
  readonly apiSock: string | undefined;
  readonly configFile: string | undefined;
  readonly id: string | undefined;
  readonly seccomp: SeccompMode;
  readonly metricsFile: string | undefined;
  readonly metricsIntervalSec: number | undefined;
}

const STATE: Record<string, InstanceState> = { created: 'Not started', starting: 'Not started', running: 'Running', paused: 'Paused', stopped: 'Running' };

function controllerFor(vm: VmProcess, metrics: MetricsFile | undefined): VmController {
  return {
    get state() {
      return STATE[vm.state] ?? 'Not started';
    },
    start: (config: VmConfig) => vm.start(config),
    pause: () => vm.pause(),
    resume: () => vm.resume(),
    sendCtrlAltDel: () => Promise.reject(new Error("SendCtrlAltDel is not supported: tsvmm's guests have no i8042 keyboard to receive it (shut the guest down from inside)")),
    flushMetrics: async () => {
      if (metrics === undefined) throw new Error('FlushMetrics: no metrics file was given (--metrics FILE)');
      metrics.write(await vm.metrics());
    },
  };
}

export async function runCli(o: RunOptions): Promise<number> {
  let logFd = 2;
  if (o.logFile !== undefined) {
    try {
      logFd = openLogFile(o.logFile);
    } catch (err) {
      if (!(err instanceof LogFileError)) throw err;
      process.stderr.write(`tsvmm: ${err.message}\n`);
      return 1;
    }
  }
  const term = new Terminal(logFd);
  const log = (line: string): void => term.say(line);
  // Everything that opens a file, reads a config or loads a module happens before the seal.
  const metrics = o.metricsFile === undefined ? undefined : MetricsFile.open(o.metricsFile);
  const fc = o.apiSock !== undefined || o.configFile !== undefined ? await import('../api/firecracker/index.js') : undefined;
  let config = o.config;
  if (o.configFile !== undefined) {
    try {
      config = fc!.loadConfigFile(o.configFile, { seccomp: o.seccomp, log });
    } catch (err) {
      // A bad config file is a usage error, as bad flags are (exit 2).
      if (err instanceof fc!.ConfigFileError) throw new UsageError(err.message);
      throw err;
    }
  }
  const seal = o.apiSock !== undefined && o.seccomp !== 'off' ? await import('../api/firecracker/seal.js') : undefined;
  const vm = new VmProcess({ console: 'inherit', escapes: true, logFd });
  const detach = attachTerminal(vm, term);
  let server: { close(): Promise<void> } | undefined;
  try {
    if (o.apiSock !== undefined) {
      server = await fc!.startApiServer({ socketPath: o.apiSock, controller: controllerFor(vm, metrics), log, id: o.id, seccomp: o.seccomp, bootedConfig: config });
    }
    if (seal !== undefined) {
      const program = seal.sealApiProcess({ mode: o.seccomp === 'log' ? 'log' : 'kill', childPids: [vm.pid!] });
      log(`seccomp: the API process ${o.seccomp === 'log' ? 'logs' : 'enforces'} its own ${program.instructions}-instruction allowlist`);
    }
  } catch (err) {
    log(err instanceof Error ? err.message : String(err));
    await vm.stop();
    detach();
    return 1;
  }
  if (config !== undefined) vm.start(config).catch(() => undefined); // a failure is the VMM's own line, and its exit code
  const ticker =
    metrics !== undefined && o.metricsIntervalSec !== undefined
      ? setInterval(() => void vm.metrics().then((m) => metrics.write(m), () => undefined), o.metricsIntervalSec * 1000)
      : undefined;
  const exit = await vm.exited;
  clearInterval(ticker);
  if (exit.metrics !== undefined) metrics?.write(exit.metrics);
  await server?.close();
  term.restore();
  detach();
  return exitCodeOf(exit, term);
}
