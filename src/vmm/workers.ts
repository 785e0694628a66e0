// Phase 3 of building a VM: its threads, and how the VMM steers them. One
// vCPU worker (vcpu/worker.ts) per vCPU, which loops on KVM_RUN once told to
// go; with several vCPUs, one platform worker (platform/worker.ts) that owns
// the device models and serves the vCPUs' exit mailboxes (with one vCPU, its
// thread owns them); one queue worker (devices/virtio/worker.ts) per virtio
// device. Each reports 'ready' once its modules are loaded and its state
// built: the process is sealed only after all of them are (nothing loads
// after that).
import { Worker } from 'node:worker_threads';
import type { GuestStop } from '../arch/arch.js';
import { CONTROL_WORD } from '../devices/virtio/spec.js';
import { LogReceiver, createLogWords } from '../devices/worker_log.js';
import type { DeviceWorkerData, DeviceWorkerMessage } from '../devices/virtio/worker.js';
import { signalEventfd } from '../native/eventfd.js';
import { MailboxServer, mailboxBytes } from '../platform/mailbox.js';
import type { PlatformData } from '../platform/platform.js';
import type { PlatformWorkerData, PlatformWorkerMessage } from '../platform/worker.js';
import { VcpuControl, VCPU_REQUEST, VCPU_STATE, waitWhile, type VcpuRequest } from '../vcpu/control.js';
import { kickThread } from '../vcpu/kick.js';
import { createExitCounters } from '../vcpu/metrics.js';
import { VCPU_STANDBY, type VcpuDevices, type VcpuWorkerData, type VcpuWorkerMessage } from '../vcpu/protocol.js';
import type { Machine } from './machine.js';
import type { PreparedVm } from './prepare.js';

export interface WorkerEvents {
  log(line: string): void;
  /** The guest, a device or a failed thread ended the VM. */
  stopped(stop: GuestStop): void;
}

export interface VmThreads {
  /** Every vCPU's exit counters (vcpu/metrics.ts). */
  readonly exits: SharedArrayBuffer;
  /** Resolves once every worker is ready to run. */
  readonly ready: Promise<void>;
  /** Lets the vCPUs enter the guest. */
  go(): void;
  /** Stops every vCPU (kicked out of KVM_RUN), then the device queues; resolves once all hold, or false after `timeoutMs`. */
  pause(timeoutMs: number): Promise<boolean>;
  /** Device queues first, then the vCPUs. */
  resume(): void;
  /** Stops every vCPU thread; resolves with the ids of those that did not stop within `timeoutMs`. */
  stop(timeoutMs: number): Promise<number[]>;
}

/** How long a device queue worker may take to hold or release its queues (it finishes the request in flight). */
const QUEUE_ACK_TIMEOUT_MS = 5000;

type Message = { kind: string; line?: string; stop?: GuestStop; message?: string; tid?: number };

const VCPU_WORKER = new URL('../vcpu/worker.js', import.meta.url);

/**
 * vCPU 0's worker, started before the VM's configuration is known (the VMM
 * process does it first thing: prestartVcpuWorker): its isolate and
 * modules load while the main thread waits for its configuration and sets
 * up KVM; startWorkers() then hands it its data as its first message
 * (vcpu/protocol.ts VCPU_STANDBY).
 */
let standby: Worker | undefined;

export function prestartVcpuWorker(): void {
  standby ??= new Worker(VCPU_WORKER, { workerData: VCPU_STANDBY });
}

/**
 * Starts a worker (or gives the standby one its data) with a bounded log
 * channel (devices/worker_log.ts: `log` is added to its data); `ready`
 * resolves with its 'ready' message.
 */
function start(url: URL, data: object, what: string, events: WorkerEvents, early?: Worker): Promise<Message> {
  const words = createLogWords();
  const receiver = new LogReceiver(words);
  const full = { ...data, log: words };
  const w = early ?? new Worker(url, { workerData: full });
  if (early !== undefined) w.postMessage(full);
  w.on('error', (err) => events.stopped({ code: 1, reason: `${what} thread failed: ${err.message}` }));
  return new Promise((ready) => {
    w.on('message', (msg: Message) => {
      if (msg.kind === 'ready') ready(msg);
      else if (msg.kind === 'log') {
        events.log(msg.line!);
        const note = receiver.written();
        if (note !== undefined) events.log(note);
      }
      else if (msg.kind === 'stopped') events.stopped(msg.stop!);
      else if (msg.kind === 'warm') return; // a device worker finished its warm-up (devices/virtio/warmup.ts)
      else events.stopped({ code: 1, reason: `${what} thread failed: ${msg.message}` });
    });
  });
}

export function startWorkers(p: PreparedVm, m: Machine, console: { outFd: number; line: SharedArrayBuffer | undefined }, events: WorkerEvents): VmThreads {
  const platform: PlatformData = {
    arch: p.arch.name,
    vmFd: m.vm.fd,
    memory: m.memoryDescriptor,
    console: { ring: m.consoleRing.buffer, flags: m.consoleFlags, outFd: console.outFd, line: console.line },
    virtio: p.virtio,
  };
  const count = m.vcpuFds.length;
  const control = new VcpuControl(count);
  const go = new Int32Array(new SharedArrayBuffer(4));
  const exits = createExitCounters(count);
  const mmapSize = m.kvm.vcpuMmapSize();
  const waiting: Array<Promise<Message>> = [];

  let mailbox: SharedArrayBuffer | undefined;
  let devices: VcpuDevices = { kind: 'local', platform };
  if (count > 1) {
    mailbox = new SharedArrayBuffer(mailboxBytes(count));
    devices = { kind: 'remote', arch: p.arch.name, mailbox };
    const data: Omit<PlatformWorkerData, 'log'> = { platform, mailbox, vcpus: count };
    waiting.push(start(new URL('../platform/worker.js', import.meta.url), data, 'platform', events) as Promise<Message & PlatformWorkerMessage>);
  }
  const vcpuReady = m.vcpuFds.map((vcpuFd, index) => {
    const data: Omit<VcpuWorkerData, 'log'> = { index, vcpuFd, mmapSize, devices, control: control.buffer, vcpuCount: count, exits, go };
    const early = index === 0 ? standby : undefined;
    if (early !== undefined) standby = undefined;
    return start(VCPU_WORKER, data, count > 1 ? `vCPU ${index}` : 'vCPU', events, early) as Promise<Message & VcpuWorkerMessage>;
  });
  for (const spec of p.virtio) {
    const data: Omit<DeviceWorkerData, 'log'> = { memory: m.memoryDescriptor, spec };
    waiting.push(start(new URL('../devices/virtio/worker.js', import.meta.url), data, 'device', events) as Promise<Message & DeviceWorkerMessage>);
  }
  const tids: number[] = [];
  void Promise.all(vcpuReady).then((msgs) => msgs.forEach((msg, i) => (tids[i] = msg.tid!)));

  const request = (r: VcpuRequest): void => {
    control.requestAll(r);
    for (const tid of tids) kickThread(tid);
  };
  const queues = (paused: boolean): Array<Promise<unknown>> =>
    p.virtio.map((spec) => {
      const words = new Int32Array(spec.control);
      Atomics.store(words, CONTROL_WORD.PAUSE, paused ? 1 : 0);
      signalEventfd(spec.controlFd);
      return waitWhile(words, CONTROL_WORD.PAUSE_ACK, paused ? 0 : 1, QUEUE_ACK_TIMEOUT_MS);
    });
  return {
    exits,
    ready: Promise.all([...waiting, ...vcpuReady]).then(() => undefined),
    go: () => {
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
    },
    async pause(timeoutMs) {
      request(VCPU_REQUEST.PAUSE);
      if (!(await control.waitAll(VCPU_STATE.PAUSED, timeoutMs))) return false;
      await Promise.all(queues(true));
      return p.virtio.every((spec) => Atomics.load(new Int32Array(spec.control), CONTROL_WORD.PAUSE_ACK) === 1);
    },
    resume() {
      void queues(false);
      request(VCPU_REQUEST.RUN);
    },
    async stop(timeoutMs) {
      request(VCPU_REQUEST.STOP);
      // A vCPU that never got to run (the VM failed before `go`) stops at its first checkpoint.
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
      await control.waitAll(VCPU_STATE.STOPPED, timeoutMs);
      if (mailbox !== undefined) MailboxServer.close(mailbox);
      return control.laggards(VCPU_STATE.STOPPED);
    },
  };
}
