// The VM's counters as one snapshot (ipc.ts VmMetrics): each vCPU's exits by
// kind and each device's counters, read from the shared buffers their
// threads write (vcpu/metrics.ts, devices/virtio/metrics.ts).
import { deviceCounts } from '../devices/virtio/metrics.js';
import type { VirtioDeviceSpec } from '../devices/virtio/spec.js';
import { exitCounts } from '../vcpu/metrics.js';
import type { VmMetrics } from './ipc.js';

export function snapshotMetrics(exits: SharedArrayBuffer, vcpus: number, devices: readonly VirtioDeviceSpec[], now: number = Date.now()): VmMetrics {
  const seen: Record<string, number> = {};
  const byName: VmMetrics['devices'] = {};
  for (const d of devices) {
    const kind = d.backend.kind;
    const n = seen[kind] ?? 0;
    seen[kind] = n + 1;
    byName[`${kind}${n}`] = deviceCounts(kind, d.counters);
  }
  return { utc_timestamp_ms: now, vcpus: exitCounts(exits, vcpus), devices: byName };
}
