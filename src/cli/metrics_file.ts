// --metrics FILE: the VM's counters as JSON lines, one per flush (the API's
// FlushMetrics, every --metrics-interval seconds, and at exit). The file is
// opened when the CLI starts, before any seccomp seal; lines are appended
// with one write each.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { VmMetrics } from '../vmm/ipc.js';
import { UsageError } from './args.js';
import { errnoCode } from '../base/errors.js';

export class MetricsFile {
  private constructor(private readonly fd: number) {}

  static open(path: string): MetricsFile {
    try {
      return new MetricsFile(openSync(path, 'a', 0o600));
    } catch (err) {
      throw new UsageError(`--metrics ${path}: ${errnoCode(err) ?? (err as Error).message}`);
    }
  }

  write(m: VmMetrics): void {
    writeSync(this.fd, JSON.stringify(m) + '\n');
  }

  close(): void {
    closeSync(this.fd);
  }
}
