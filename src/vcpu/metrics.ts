// Per-vCPU exit counters, in one SharedArrayBuffer the VMM's main thread
// reads for metrics: a Float64Array row per vCPU, indexed by exit reason.
// Only the vCPU's own thread writes its row (a plain increment per exit; an
// aligned 8-byte store, so a reader sees an old or a new count, never a torn
// one), and doubles count exactly to 2^53.
import { KVM_EXIT } from '../kvm/generated/uapi.js';

/** Exit reasons counted per vCPU (KVM_EXIT_* values below this; others count as UNKNOWN). */
export const EXIT_SLOTS = 64;

/** The counters' buffer for `vcpus` vCPUs. */
export function createExitCounters(vcpus: number): SharedArrayBuffer {
  return new SharedArrayBuffer(8 * EXIT_SLOTS * vcpus);
}

/** vCPU `index`'s row, for its run loop. */
export function exitCounterRow(buffer: SharedArrayBuffer, index: number): Float64Array {
  return new Float64Array(buffer, 8 * EXIT_SLOTS * index, EXIT_SLOTS);
}

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(KVM_EXIT).map(([name, v]) => [v, name.toLowerCase()]));

/** Every vCPU's exits by kind, named as KVM names them (io, mmio, hlt, intr, ...); zero counts left out. */
export function exitCounts(buffer: SharedArrayBuffer, vcpus: number): Array<Record<string, number>> {
  const out: Array<Record<string, number>> = [];
  for (let i = 0; i < vcpus; i++) {
    const row = exitCounterRow(buffer, i);
    const counts: Record<string, number> = {};
    row.forEach((n, reason) => {
      if (n > 0) counts[NAMES[reason] ?? `reason_${reason}`] = n;
    });
    out.push(counts);
  }
  return out;
}
