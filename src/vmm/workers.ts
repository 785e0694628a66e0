// Phase 3 of building a VM: its threads. One vCPU worker (vcpu/worker.ts)
// per vCPU, which builds the platform and loops on KVM_RUN once told to go,
// and one queue worker (devices/virtio/worker.ts) per virtio device. Each
// reports 'ready' once its modules are loaded and its state built: the
// process is sealed only after all of them are (nothing loads after that).
import { Worker } from 'node:worker_threads';
import type { GuestStop } from '../arch/arch.js';
import type { DeviceWorkerData, DeviceWorkerMessage } from '../devices/virtio/worker.js';
import { LogReceiver, createLogWords } from '../devices/worker_log.js';
import type { PlatformData } from '../platform/platform.js';
import type { VcpuWorkerData, VcpuWorkerMessage } from '../vcpu/protocol.js';
import type { Machine } from './machine.js';
import type { PreparedVm } from './prepare.js';

export interface WorkerEvents {
  log(line: string): void;
  /** The guest or a thread ended the VM. */
  stopped(stop: GuestStop): void;
}

export interface VmWorkers {
  /** Resolves once every worker is ready to run. */
  readonly ready: Promise<void>;
  /** Lets the vCPUs enter the guest. */
  go(): void;
}

export function startWorkers(p: PreparedVm, m: Machine, console: { outFd: number; line: SharedArrayBuffer | undefined }, events: WorkerEvents): VmWorkers {
  const platform: PlatformData = {
    arch: p.arch.name,
    vmFd: m.vm.fd,
    memory: m.memoryDescriptor,
    console: { ring: m.consoleRing.buffer, flags: m.consoleFlags, outFd: console.outFd, line: console.line },
    virtio: p.virtio,
  };
  const go = new Int32Array(new SharedArrayBuffer(4));
  const mmapSize = m.kvm.vcpuMmapSize();
  const waiting: Array<Promise<void>> = [];
  const failed = (what: string) => (err: Error) => events.stopped({ code: 1, reason: `${what} thread failed: ${err.message}` });
  /** A worker's log channel: its words for the worker, and how this thread writes one of its lines. */
  const logChannel = (): { words: SharedArrayBuffer; write(line: string): void } => {
    const words = createLogWords();
    const receiver = new LogReceiver(words);
    return {
      words,
      write: (line) => {
        events.log(line);
        const note = receiver.written();
        if (note !== undefined) events.log(note);
      },
    };
  };

  for (const vcpuFd of m.vcpuFds) {
    const log = logChannel();
    const data: VcpuWorkerData = { platform, vcpuFd, mmapSize, go, log: log.words };
    const w = new Worker(new URL('../vcpu/worker.js', import.meta.url), { workerData: data });
    waiting.push(
      new Promise((ready) => {
        w.on('message', (msg: VcpuWorkerMessage) => {
          if (msg.kind === 'ready') ready();
          else if (msg.kind === 'log') log.write(msg.line);
          else if (msg.kind === 'stopped') events.stopped(msg.stop);
          else events.stopped({ code: 1, reason: `vCPU thread failed: ${msg.message}` });
        });
      }),
    );
    w.on('error', failed('vCPU'));
  }
  for (const spec of p.virtio) {
    const log = logChannel();
    const data: DeviceWorkerData = { memory: m.memoryDescriptor, spec, log: log.words };
    const w = new Worker(new URL('../devices/virtio/worker.js', import.meta.url), { workerData: data });
    waiting.push(
      new Promise((ready) => {
        w.on('message', (msg: DeviceWorkerMessage) => {
          if (msg.kind === 'ready') ready();
          else log.write(msg.line);
        });
      }),
    );
    w.on('error', failed('device'));
  }
  return {
    ready: Promise.all(waiting).then(() => undefined),
    go: () => {
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
    },
  };
}
