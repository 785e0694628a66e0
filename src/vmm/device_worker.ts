// A virtio device's worker thread: it blocks in poll() on the queues'
// ioeventfds (the guest's kicks, signalled inside KVM without a VM exit), its
// control eventfd (activate/reset from the vCPU thread), the INTx resample fd
// and the backend's own fd (a TAP), serves the queues, and interrupts the
// guest through irqfds.
import { parentPort, workerData } from 'node:worker_threads';
import { native } from '../native/addon.js';
import { ERRNO, POLL } from '../native/linux.js';
import { GuestMemory, type GuestMemoryDescriptor } from '../memory/guest_memory.js';
import { SharedInterrupts, SHARED } from '../devices/virtio/shared_state.js';
import { VIRTIO_STATUS } from '../devices/virtio/constants.js';
import { CONTROL_WORD, type VirtioDeviceSpec } from './virtio_spec.js';
import { loadVirtioKind, type VirtioKind } from './virtio_runtime.js';

export interface DeviceWorkerData {
  memory: GuestMemoryDescriptor;
  spec: VirtioDeviceSpec;
}

const ONE = new BigUint64Array([1n]);

function serve(d: DeviceWorkerData, kind: VirtioKind): never {
  const { spec } = d;
  const memory = GuestMemory.map(d.memory);
  const state = new Int32Array(spec.state);
  const control = new Int32Array(spec.control);
  const log = (line: string): void => {
    parentPort?.postMessage({ kind: 'log', line });
  };
  const sink = new SharedInterrupts(state, {
    msi: (vector) => {
      const fd = spec.msiFds[vector];
      if (fd !== undefined) native.write(fd, ONE);
    },
    intx: () => native.write(spec.intxFd, ONE),
  });
  const runtime = kind.createQueueRuntime(spec.backend, { memory, state, sink, numQueues: spec.numQueues, log });
  let lastReset = Atomics.load(control, CONTROL_WORD.RESET_REQUEST);

  // struct pollfd[]: control, one per queue kick, the INTx resample fd, the backend fd.
  const fds = [spec.controlFd, ...spec.kickFds, spec.intxResampleFd, -1];
  const RESAMPLE = fds.length - 2;
  const EXTRA = fds.length - 1;
  const pollfds = Buffer.alloc(fds.length * 8);
  fds.forEach((fd, i) => {
    pollfds.writeInt32LE(fd, i * 8);
    pollfds.writeInt16LE(POLL.IN, i * 8 + 4);
  });
  const counter = new BigUint64Array(1);
  const drain = (fd: number): boolean => native.read(fd, counter) !== -ERRNO.EAGAIN;
  const revents = (i: number): number => pollfds.readInt16LE(i * 8 + 6);

  parentPort?.postMessage({ kind: 'ready' });
  for (;;) {
    const extra = runtime.extraPoll();
    pollfds.writeInt32LE(extra !== undefined && extra.events !== 0 ? extra.fd : -1, EXTRA * 8);
    pollfds.writeInt16LE(extra?.events ?? 0, EXTRA * 8 + 4);
    native.poll(pollfds, runtime.busy ? 0 : -1);
    if (revents(0) & POLL.IN && drain(spec.controlFd)) {
      const req = Atomics.load(control, CONTROL_WORD.RESET_REQUEST);
      const resetNow = req !== lastReset;
      if (resetNow) {
        lastReset = req;
        runtime.reset();
        Atomics.store(control, CONTROL_WORD.RESET_ACK, req);
        Atomics.notify(control, CONTROL_WORD.RESET_ACK);
      }
      // Not in the round that handled a reset: the transport clears the shared
      // state only after our acknowledgement, so DRIVER_OK may still read as
      // set. A new DRIVER_OK writes the control fd again, after the ack.
      if (!resetNow && !runtime.active && (Atomics.load(state, SHARED.STATUS) & VIRTIO_STATUS.DRIVER_OK) !== 0) {
        try {
          runtime.activate();
        } catch (err) {
          log(`virtio device in slot ${spec.slot}: cannot activate: ${(err as Error).message}`);
          Atomics.or(state, SHARED.STATUS, VIRTIO_STATUS.DEVICE_NEEDS_RESET);
          sink.config();
        }
      }
    }
    for (let q = 0; q < spec.kickFds.length; q++) {
      if (revents(q + 1) & POLL.IN && drain(spec.kickFds[q]!)) runtime.kick(q);
    }
    if (revents(RESAMPLE) & POLL.IN && drain(spec.intxResampleFd)) {
      // The guest EOId the level-triggered INTx line: assert it again while ISR is still set.
      if (Atomics.load(state, SHARED.ISR) !== 0) native.write(spec.intxFd, ONE);
    }
    const extraEvents = revents(EXTRA);
    if (extra !== undefined && extraEvents !== 0) runtime.extraReady(extraEvents);
    else if (runtime.busy) runtime.resume();
  }
}

if (parentPort) {
  const d = workerData as DeviceWorkerData;
  serve(d, await loadVirtioKind(d.spec.backend.kind));
}
