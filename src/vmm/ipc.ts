// What a VMM process (main.ts) and the process that started it (the library,
// api/; the CLI goes through the library) say to each other over Node's IPC
// channel. The VMM's own lines for the user go to its stderr, not here: they
// must reach the user even when the VMM dies (a seccomp kill).
import type { VmConfig } from './config.js';

/** A snapshot of the VM's counters (metrics.ts). */
export interface VmMetrics {
  /** Milliseconds since the epoch when it was taken. */
  utc_timestamp_ms: number;
  /** Exits by kind, one record per vCPU. */
  vcpus: Array<Record<string, number>>;
  /** Counters by device, named like `blk0`, `net0`. */
  devices: Record<string, Record<string, number>>;
}

export type VmRequest = 'pause' | 'resume' | 'stop' | 'metrics';

/** Parent -> VMM. */
export type ToVmm =
  /** Build and run this VM (sent once). consoleEscapes: a person types into stdin (Ctrl-A x and friends). */
  | { type: 'start'; config: VmConfig; consoleEscapes: boolean }
  /** Steer the running VM; answered by a 'reply' with the same id. */
  | { type: 'request'; id: number; request: VmRequest };

/** VMM -> parent. */
export type FromVmm =
  /** The guest is about to run (the terminal may go raw now). */
  | { type: 'running' }
  | { type: 'reply'; id: number; ok: true; metrics?: VmMetrics }
  | { type: 'reply'; id: number; ok: false; error: string }
  /**
   * The VM has ended: the exit code the process is about to exit with, the
   * one-line reason for a failure (also on stderr), whether it was a usage
   * problem (exit 2), and the last counters.
   */
  | { type: 'exiting'; code: number; error?: string; metrics?: VmMetrics };

export function isToVmm(m: unknown): m is ToVmm {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return t === 'start' || t === 'request';
}
