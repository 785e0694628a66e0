// A virtio device's worker thread: it blocks in poll() on the queues'
// ioeventfds (the guest's kicks, signalled inside KVM without a VM exit), its
// control eventfd (activate, reset and pause from other threads), the INTx
// resample fd and the backend's own fd (a TAP), serves the queues through its
// kind's QueueRuntime (device_loop.ts), and interrupts the guest through
// irqfds. Before it says it is ready it runs its own code over synthetic
// rings (warmup.ts), so the guest's first requests run compiled code.
import { parentPort, workerData } from 'node:worker_threads';
import { GuestMemory, type GuestMemoryDescriptor } from '../../memory/guest_memory.js';
import type { VirtioDeviceSpec } from './spec.js';
import { loadVirtioKind } from './kinds.js';
import { createWorkerLog } from '../worker_log.js';
import { DeviceLoop, irqfdSink } from './device_loop.js';
import { prepareWarmUp, WARM_IDLE_POLLS } from './warmup.js';
import { startupMark } from '../../native/startup_trace.js';

export interface DeviceWorkerData {
  memory: GuestMemoryDescriptor;
  spec: VirtioDeviceSpec;
  /** The bounded log channel's words (../worker_log.ts); the main thread holds the other end. */
  log: SharedArrayBuffer;
}

/** What a device worker tells the thread that started it. */
export type DeviceWorkerMessage = { kind: 'ready' } | { kind: 'warm'; ms: number; rounds: number } | { kind: 'log'; line: string };

if (parentPort) {
  const d = workerData as DeviceWorkerData;
  const kind = await loadVirtioKind(d.spec.backend.kind);
  // Everything this worker logs comes from serving the guest: rate-limited, and bounded on its way out.
  const log = createWorkerLog(d.log, (line) => parentPort!.postMessage({ kind: 'log', line } satisfies DeviceWorkerMessage));
  // Made before 'ready' (the VMM seals the process once every thread is ready): the warm-up's fds and memory.
  const warm = prepareWarmUp(kind, d.spec);
  const state = new Int32Array(d.spec.state);
  const memory = GuestMemory.map(d.memory);
  const counters = new Float64Array(d.spec.counters);
  const sink = irqfdSink(d.spec, state, counters);
  const runtime = kind.createQueueRuntime(d.spec.backend, { memory, state, sink, numQueues: d.spec.numQueues, log, counters });
  const loop = new DeviceLoop(d.spec, runtime, state, sink, counters, log);
  startupMark('device', 'ready');
  parentPort.postMessage({ kind: 'ready' } satisfies DeviceWorkerMessage);
  // Warm up while the guest boots, a round at a time between the guest's own
  // requests. The guest comes first: a warm-up round (hundreds of
  // microseconds, more while the code is cold) runs only once the guest has
  // left its queues alone for WARM_IDLE_POLLS polls in a row, so a guest that
  // starts streaming at once is served back to back (its own requests then
  // train the same code) instead of waiting behind warm-up rounds.
  const t0 = performance.now();
  let rounds = 0;
  let idle = 0;
  while (!warm.done) {
    if (loop.round(false)) {
      idle = 0;
    } else if (++idle >= WARM_IDLE_POLLS) {
      warm.step();
      rounds++;
    }
  }
  warm.close();
  parentPort.postMessage({ kind: 'warm', ms: performance.now() - t0, rounds } satisfies DeviceWorkerMessage);
  for (;;) loop.round();
}
