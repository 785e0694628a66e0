// What split and packed virtqueues have in common: the descriptor chain a
// device sees, the queue interface, and the errors.
//
// Seams: queues live on the device's worker thread, rebuilt from the shared
// transport state (shared_state.ts) over that thread's GuestMemory mapping.
// Everything read from the rings is hostile: the queue classes check every
// address and length against guest RAM before a chain is handed out, so a
// device may use `chain.readable` / `chain.writable` with GuestMemory.slice
// without further checks (slice still re-checks).
//
// Errors: a DescriptorChainError means one request was malformed; the chain's
// `id` (and `ringCount`) are filled before the error is thrown, so the device
// completes it with `addUsed(chain, 0)` and carries on. A VirtqueueError means
// the ring itself is unusable (the driver claims more buffers than the queue
// holds, a head index out of range): the device sets DEVICE_NEEDS_RESET and
// raises a configuration interrupt. Neither ever stops the VMM.
import { TsvmmError } from '../../base/errors.js';
import { hex } from '../../base/format.js';

/** A guest buffer: guest physical address and length, already checked. */
export interface Segment {
  gpa: number;
  len: number;
}

/** Buffer slots a chain starts with (grown by doubling, up to what the queue allows). */
const INITIAL_CAPACITY = 8;

/**
 * One request's buffers. Reused between pops (the queue loop allocates
 * nothing): copy out what must outlive the next pop.
 *
 * Buffers are kept in typed arrays: buffer i (0 <= i < count) is guest
 * bytes [gpa(i), gpa(i) + len(i)); the first `readableCount` are
 * device-readable, the rest device-writable (the queues reject a readable
 * one after a writable one). `readableSegments()` / `writableSegments()`
 * give them as objects, for tests and cold paths.
 *
 * Memory: a chain holds at most queue-size buffers (the queues enforce it);
 * its arrays grow by doubling as buffers are added and are kept for reuse,
 * up to `retain` slots: a device that holds many chains at once (virtio-net
 * RX) passes a small `retain`, so a chain that was once long gives its
 * memory back when cleared and the device's memory stays O(queue size).
 */
export class DescriptorChain {
  /** Split: head descriptor index. Packed: buffer id. Reported back by addUsed. */
  id = 0;
  /** Packed: descriptors the chain took in the ring (an indirect chain takes 1). Split: 1. */
  ringCount = 0;
  /** Buffers in the chain, readable and writable. */
  count = 0;
  /** Device-readable buffers (they all precede the writable ones). */
  readableCount = 0;
  readableLength = 0;
  writableLength = 0;
  private gpas: Float64Array;
  private lens: Float64Array;

  constructor(private readonly retain: number = Number.POSITIVE_INFINITY) {
    const capacity = Math.max(1, Math.min(INITIAL_CAPACITY, retain));
    this.gpas = new Float64Array(capacity);
    this.lens = new Float64Array(capacity);
  }

  /** Device-writable buffers. */
  get writableCount(): number {
    return this.count - this.readableCount;
  }

  /** Buffer slots this chain keeps, in use or not. */
  get retainedSegments(): number {
    return this.gpas.length;
  }

  /** Guest address of buffer i (readable first, then writable). */
  gpa(i: number): number {
    return this.gpas[i]!;
  }

  /** Length of buffer i. */
  len(i: number): number {
    return this.lens[i]!;
  }

  clear(): void {
    this.id = 0;
    this.ringCount = 0;
    this.count = 0;
    this.readableCount = 0;
    this.readableLength = 0;
    this.writableLength = 0;
    if (this.gpas.length > this.retain) {
      this.gpas = new Float64Array(Math.max(1, this.retain));
      this.lens = new Float64Array(Math.max(1, this.retain));
    }
  }

  private grow(): void {
    const capacity = 2 * this.gpas.length;
    const gpas = new Float64Array(capacity);
    const lens = new Float64Array(capacity);
    gpas.set(this.gpas);
    lens.set(this.lens);
    this.gpas = gpas;
    this.lens = lens;
  }

  addReadable(gpa: number, len: number): void {
    const i = this.count;
    if (i === this.gpas.length) this.grow();
    this.gpas[i] = gpa;
    this.lens[i] = len;
    this.count = i + 1;
    this.readableCount++;
    this.readableLength += len;
  }

  addWritable(gpa: number, len: number): void {
    const i = this.count;
    if (i === this.gpas.length) this.grow();
    this.gpas[i] = gpa;
    this.lens[i] = len;
    this.count = i + 1;
    this.writableLength += len;
  }

  /** The device-readable buffers as objects (allocates: tests and cold paths). */
  readableSegments(): Segment[] {
    const out: Segment[] = [];
    for (let i = 0; i < this.readableCount; i++) out.push({ gpa: this.gpas[i]!, len: this.lens[i]! });
    return out;
  }

  /** The device-writable buffers as objects (allocates: tests and cold paths). */
  writableSegments(): Segment[] {
    const out: Segment[] = [];
    for (let i = this.readableCount; i < this.count; i++) out.push({ gpa: this.gpas[i]!, len: this.lens[i]! });
    return out;
  }
}

/** The device's view of a virtqueue, split or packed. */
export interface Virtqueue {
  readonly size: number;
  /** Fills `chain` with the next available request; false when none is available. */
  pop(chain: DescriptorChain): boolean;
  /** Returns a request to the driver: `len` bytes were written to its writable buffers. */
  addUsed(chain: DescriptorChain, len: number): void;
  /** After a batch of addUsed: whether the driver asked to be interrupted. */
  needsInterrupt(): boolean;
  /** Asks the driver not to kick while the device is busy. */
  disableNotifications(): void;
  /** Asks for kicks again; returns true if buffers arrived meanwhile (process them first). */
  enableNotifications(): boolean;
}

/** Where a queue's rings live, as the driver configured them. */
export interface QueueLayout {
  readonly size: number;
  /** Descriptor table (split) or descriptor ring (packed). */
  readonly desc: number;
  /** Available ring (split) or driver event suppression area (packed). */
  readonly driver: number;
  /** Used ring (split) or device event suppression area (packed). */
  readonly device: number;
}

/** Negotiated features that change ring behaviour. */
export interface QueueFeatures {
  readonly eventIdx: boolean;
  readonly indirect: boolean;
}

export class DescriptorChainError extends TsvmmError {
  constructor(
    message: string,
    readonly id: number,
  ) {
    super(message);
  }
}

export class VirtqueueError extends TsvmmError {}

export class QueueConfigError extends TsvmmError {}

/**
 * vring_need_event (§2.7.10): true when `event` lies in (old, new], all
 * modulo 2^16. The driver asked to be told once the index passes `event`.
 */
export function needEvent(event: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - event - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}

// A full memory barrier. Guest RAM is not a SharedArrayBuffer, so Atomics
// cannot order its accesses directly, but any sequentially consistent atomic
// read-modify-write is a full fence on the CPU (a locked instruction on x86,
// dmb ish around ldaxr/stlxr on arm64). Needed where the device stores an
// event index and then loads the driver's index (store-load ordering).
const fenceWord = new Int32Array(new SharedArrayBuffer(4));
export function memoryFence(): void {
  Atomics.add(fenceWord, 0, 0);
}

export { hex };
