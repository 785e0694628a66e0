// Exit mailboxes: how the vCPU threads of a multi-vCPU VM hand their port-I/O
// and MMIO accesses to the one thread that owns the device models (the
// platform thread, platform/worker.ts). One slot of Int32 words per vCPU in
// a SharedArrayBuffer, plus a doorbell word:
//
//   vCPU i:   fill slot i, STATE = POSTED, doorbell++, notify doorbell,
//             wait until STATE = DONE, read VALUE, STATE = IDLE.
//   platform: note the doorbell, serve every POSTED slot (STATE = DONE,
//             notify), wait on the doorbell if none was posted.
//
// Device state therefore has exactly one owner thread and needs no lock; a
// vCPU waits for its own access only. A one-vCPU VM skips all this: its vCPU
// thread owns the devices (platform.ts) and calls its buses directly.
import type { AccessBus } from '../bus/bus.js';

const SLOT = { STATE: 0, SPACE: 1, SIZE: 2, WRITE: 3, ADDR_LO: 4, ADDR_HI: 5, VALUE: 6 } as const;
const SLOT_WORDS = 8;
const HEADER_WORDS = 2;
const DOORBELL = 0;
/** Set to 1 to make the serving loop return. */
const CLOSED = 1;

export const MAILBOX_STATE = { IDLE: 0, POSTED: 1, DONE: 2 } as const;
export const ACCESS_SPACE = { PIO: 0, MMIO: 1 } as const;
type Space = (typeof ACCESS_SPACE)[keyof typeof ACCESS_SPACE];

export function mailboxBytes(vcpus: number): number {
  return 4 * (HEADER_WORDS + SLOT_WORDS * vcpus);
}

/** vCPU side: one address space (port I/O or MMIO) of slot `index`, as a bus. */
export class RemoteBus implements AccessBus {
  private readonly w: Int32Array;
  private readonly base: number;

  constructor(
    buffer: SharedArrayBuffer,
    index: number,
    private readonly space: Space,
  ) {
    this.w = new Int32Array(buffer);
    this.base = HEADER_WORDS + SLOT_WORDS * index;
    if (this.base + SLOT_WORDS > this.w.length) throw new RangeError(`mailbox has no slot ${index}`);
  }

  read(addr: number, size: number): number {
    return this.call(addr, size, 0, 0);
  }

  write(addr: number, size: number, value: number): boolean {
    this.call(addr, size, 1, value);
    return true;
  }

  private call(addr: number, size: number, write: number, value: number): number {
    const w = this.w;
    const b = this.base;
    w[b + SLOT.SPACE] = this.space;
    w[b + SLOT.SIZE] = size;
    w[b + SLOT.WRITE] = write;
    w[b + SLOT.ADDR_LO] = addr % 0x1_0000_0000;
    w[b + SLOT.ADDR_HI] = Math.floor(addr / 0x1_0000_0000);
    w[b + SLOT.VALUE] = value;
    Atomics.store(w, b + SLOT.STATE, MAILBOX_STATE.POSTED);
    Atomics.add(w, DOORBELL, 1);
    Atomics.notify(w, DOORBELL, 1);
    while (Atomics.load(w, b + SLOT.STATE) !== MAILBOX_STATE.DONE) Atomics.wait(w, b + SLOT.STATE, MAILBOX_STATE.POSTED);
    const result = w[b + SLOT.VALUE]! >>> 0;
    Atomics.store(w, b + SLOT.STATE, MAILBOX_STATE.IDLE);
    return result;
  }
}

/** Platform side: serves every vCPU's slot until close() is called from any thread. */
export class MailboxServer {
  private readonly w: Int32Array;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly vcpus: number,
  ) {
    this.w = new Int32Array(buffer);
    if (this.w.length < HEADER_WORDS + SLOT_WORDS * vcpus) throw new RangeError(`mailbox too small for ${vcpus} vCPUs`);
  }

  /** Makes serve() return (and wakes it). */
  static close(buffer: SharedArrayBuffer): void {
    const w = new Int32Array(buffer);
    Atomics.store(w, CLOSED, 1);
    Atomics.add(w, DOORBELL, 1);
    Atomics.notify(w, DOORBELL);
  }

  /** Serves accesses on `pio` and `mmio`, calling `after()` after each batch, until close(). */
  serve(pio: AccessBus, mmio: AccessBus, after: () => void): void {
    const w = this.w;
    for (;;) {
      const seen = Atomics.load(w, DOORBELL);
      if (Atomics.load(w, CLOSED) !== 0) return;
      let served = 0;
      for (let i = 0; i < this.vcpus; i++) {
        const b = HEADER_WORDS + SLOT_WORDS * i;
        if (Atomics.load(w, b + SLOT.STATE) !== MAILBOX_STATE.POSTED) continue;
        const bus = w[b + SLOT.SPACE] === ACCESS_SPACE.PIO ? pio : mmio;
        const addr = (w[b + SLOT.ADDR_HI]! >>> 0) * 0x1_0000_0000 + (w[b + SLOT.ADDR_LO]! >>> 0);
        const size = w[b + SLOT.SIZE]!;
        if (w[b + SLOT.WRITE] !== 0) bus.write(addr, size, w[b + SLOT.VALUE]! >>> 0);
        else w[b + SLOT.VALUE] = bus.read(addr, size) | 0;
        Atomics.store(w, b + SLOT.STATE, MAILBOX_STATE.DONE);
        Atomics.notify(w, b + SLOT.STATE);
        served++;
      }
      if (served > 0) {
        after();
        continue;
      }
      Atomics.wait(w, DOORBELL, seen);
    }
  }
}
