// A virtio device's worker thread: it blocks in poll() on the queues'
// ioeventfds (the guest's kicks, signalled inside KVM without a VM exit), its
// control eventfd (activate/reset from the vCPU thread) and the INTx resample
// fd, serves the queues, and interrupts the guest through irqfds.
import { parentPort, workerData } from 'node:worker_threads';
import { native } from '../native/addon.js';
import { ERRNO, POLL } from '../native/linux.js';
import { GuestMemory, type GuestMemoryDescriptor } from '../memory/guest_memory.js';
import { createQueue, SharedInterrupts, SHARED } from '../devices/virtio/shared_state.js';
import { VIRTIO_STATUS } from '../devices/virtio/constants.js';
import { BlockDevice } from '../devices/virtio/block/device.js';
import { FileBackend } from '../devices/virtio/block/backend.js';
import { BlockQueueHandler } from '../devices/virtio/block/queue_handler.js';
import { CONTROL_WORD, type VirtioDeviceSpec } from './virtio_spec.js';

export interface DeviceWorkerData {
  memory: GuestMemoryDescriptor;
  spec: VirtioDeviceSpec;
}

interface QueueHandler {
  process(): number;
}

const ONE = new BigUint64Array([1n]);

function serve(d: DeviceWorkerData): never {
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
  const b = spec.backend;
  const device = new BlockDevice({ size: b.size, readOnly: b.readOnly, serial: b.serial, log });
  const backend = new FileBackend(b.fd);

  let handlers: Array<QueueHandler | null> = [];
  let lastReset = Atomics.load(control, CONTROL_WORD.RESET_REQUEST);

  const activate = (): void => {
    handlers = [];
    for (let q = 0; q < spec.numQueues; q++) {
      let queue = null;
      try {
        queue = createQueue(memory, state, q);
      } catch (err) {
        log(`virtio-blk: queue ${q}: ${(err as Error).message}`);
        Atomics.or(state, SHARED.STATUS, VIRTIO_STATUS.DEVICE_NEEDS_RESET);
        sink.config();
      }
      handlers.push(queue === null ? null : new BlockQueueHandler(memory, queue, q, device, backend, state, sink, log));
    }
  };

  // struct pollfd[]: control, then one per queue kick, then the INTx resample fd.
  const fds = [spec.controlFd, ...spec.kickFds, spec.intxResampleFd];
  const pollfds = Buffer.alloc(fds.length * 8);
  fds.forEach((fd, i) => {
    pollfds.writeInt32LE(fd, i * 8);
    pollfds.writeInt16LE(POLL.IN, i * 8 + 4);
  });
  const counter = new BigUint64Array(1);
  const drain = (fd: number): boolean => native.read(fd, counter) !== -ERRNO.EAGAIN;

  parentPort?.postMessage({ kind: 'ready' });
  for (;;) {
    native.poll(pollfds, -1);
    const ready = (i: number): boolean => (pollfds.readInt16LE(i * 8 + 6) & POLL.IN) !== 0;
    if (ready(0) && drain(spec.controlFd)) {
      const req = Atomics.load(control, CONTROL_WORD.RESET_REQUEST);
      if (req !== lastReset) {
        lastReset = req;
        handlers = [];
        Atomics.store(control, CONTROL_WORD.RESET_ACK, req);
        Atomics.notify(control, CONTROL_WORD.RESET_ACK);
      }
      if (handlers.length === 0 && (Atomics.load(state, SHARED.STATUS) & VIRTIO_STATUS.DRIVER_OK) !== 0) {
        activate();
        // Kicks that came before activation are served now.
        for (const h of handlers) h?.process();
      }
    }
    for (let q = 0; q < spec.kickFds.length; q++) {
      if (ready(q + 1) && drain(spec.kickFds[q]!)) handlers[q]?.process();
    }
    const r = fds.length - 1;
    if (ready(r) && drain(spec.intxResampleFd)) {
      // The guest EOId the level-triggered INTx line: assert it again while ISR is still set.
      if (Atomics.load(state, SHARED.ISR) !== 0) native.write(spec.intxFd, ONE);
    }
  }
}

if (parentPort) serve(workerData as DeviceWorkerData);
