// The platform thread of a multi-vCPU VM: it owns every device model (the
// console UART, the reset line, PCI configuration space, the virtio-pci
// transports) and serves the port-I/O and MMIO accesses the vCPU threads
// post to their exit mailboxes (mailbox.ts), one at a time. So no device
// state is ever touched by two threads, and the device models need no lock.
import { parentPort, workerData } from 'node:worker_threads';
import type { GuestStop } from '../arch/arch.js';
import { createWorkerLog } from '../devices/worker_log.js';
import { MailboxServer } from './mailbox.js';
import { createPlatform, type PlatformData } from './platform.js';

export interface PlatformWorkerData {
  platform: PlatformData;
  mailbox: SharedArrayBuffer;
  vcpus: number;
  /** The bounded log channel's words (devices/worker_log.ts); the main thread holds the other end. */
  log: SharedArrayBuffer;
}

export type PlatformWorkerMessage = { kind: 'ready' } | { kind: 'log'; line: string } | { kind: 'stopped'; stop: GuestStop } | { kind: 'error'; message: string };

if (parentPort) {
  const post = (m: PlatformWorkerMessage): void => parentPort!.postMessage(m);
  const d = workerData as PlatformWorkerData;
  try {
    // The devices log what the guest makes them do: rate-limited, and bounded on the way to the main thread.
    const platform = await createPlatform(d.platform, createWorkerLog(d.log, (line) => post({ kind: 'log', line })));
    const server = new MailboxServer(d.mailbox, d.vcpus);
    post({ kind: 'ready' });
    // A device's stop request (the i8042 reset line) is reported once; the
    // thread serves on until the VMM has stopped every vCPU and closes the
    // mailboxes (a vCPU may still be finishing an access).
    let reported = false;
    server.serve(platform.pio, platform.mmio, () => {
      platform.afterExit();
      const stop = platform.stopRequest();
      if (stop !== undefined && !reported) {
        reported = true;
        post({ kind: 'stopped', stop });
      }
    });
    platform.afterExit();
  } catch (err) {
    post({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  }
}
