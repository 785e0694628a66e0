// eventfd(2) counters as the VMM uses them: a write of 1 signals (an irqfd
// interrupts the guest, a control fd wakes a worker), a read drains.
import { native } from './addon.js';
import { ERRNO } from './linux.js';

const ONE = new BigUint64Array([1n]);
const counter = new BigUint64Array(1);

/** Adds 1 to the counter (never blocks: an eventfd only fills after 2^64-2 signals). */
export function signalEventfd(fd: number): void {
  native.write(fd, ONE);
}

/** Reads and clears a non-blocking eventfd; false when it was not signalled. */
export function drainEventfd(fd: number): boolean {
  return native.read(fd, counter) !== -ERRNO.EAGAIN;
}
