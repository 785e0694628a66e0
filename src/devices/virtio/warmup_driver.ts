// The driver's side of a virtqueue, as small as the warm-up (warmup.ts)
// needs: buffers in fixed slots of up to `perSlot` descriptors, made
// available and taken back the way Linux's virtio_ring.c does it, on a split
// (§2.7) or packed (§2.8) ring in a synthetic guest memory. (mock.ts is the
// full-featured driver of the tests; the VMM does not load it.)
import type { GuestMemory } from '../../memory/guest_memory.js';
import { PACKED, SPLIT, VIRTQ_DESC_F } from './constants.js';
import type { QueueLayout } from './queue.js';

/** A buffer: guest address, length, device-writable. */
export type WarmBuffer = readonly [gpa: number, len: number, write: boolean];

export class WarmDriver {
  private availIdx = 0;
  private lastUsed = 0;
  private next = 0;
  private wrap = true;
  private usedNext = 0;
  private usedWrap = true;
  /** Packed: ring descriptors each slot's chain took. */
  private readonly counts: Uint16Array;

  constructor(
    private readonly mem: GuestMemory,
    readonly layout: QueueLayout,
    private readonly packed: boolean,
    private readonly perSlot: number,
  ) {
    this.counts = new Uint16Array(Math.ceil(layout.size / perSlot));
  }

  /** Slots the queue has room for. */
  get slots(): number {
    return this.counts.length;
  }

  private write(at: number, b: WarmBuffer, flags: number, id: number): void {
    this.mem.writeU64(at, b[0]);
    this.mem.writeU32(at + SPLIT.DESC_LEN, b[1]);
    if (this.packed) {
      this.mem.writeU16(at + PACKED.DESC_ID, id);
      this.mem.writeU16(at + PACKED.DESC_FLAGS, flags);
    } else {
      this.mem.writeU16(at + SPLIT.DESC_FLAGS, flags);
      this.mem.writeU16(at + SPLIT.DESC_NEXT, id);
    }
  }

  /** Makes `bufs` (at most perSlot) available as slot `slot`'s chain. */
  post(slot: number, bufs: readonly WarmBuffer[]): void {
    const { desc, driver, size } = this.layout;
    const n = bufs.length;
    if (!this.packed) {
      const head = slot * this.perSlot;
      for (let i = 0; i < n; i++) {
        const flags = (bufs[i]![2] ? VIRTQ_DESC_F.WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F.NEXT : 0);
        this.write(desc + (head + i) * SPLIT.DESC_SIZE, bufs[i]!, flags, head + i + 1);
      }
      this.mem.writeU16(driver + SPLIT.AVAIL_RING + 2 * (this.availIdx % size), head);
      this.availIdx = (this.availIdx + 1) & 0xffff;
      this.mem.writeU16(driver + SPLIT.AVAIL_IDX, this.availIdx);
      return;
    }
    const start = this.next;
    const startWrap = this.wrap;
    for (let i = 0; i < n; i++) {
      const avail = this.wrap ? PACKED.F_AVAIL : PACKED.F_USED;
      const flags = (bufs[i]![2] ? VIRTQ_DESC_F.WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F.NEXT : 0) | avail;
      // The head's flags go last (§2.8.21).
      if (i > 0) this.write(desc + this.next * PACKED.DESC_SIZE, bufs[i]!, flags, slot);
      if (++this.next === size) {
        this.next = 0;
        this.wrap = !this.wrap;
      }
    }
    const headFlags = (bufs[0]![2] ? VIRTQ_DESC_F.WRITE : 0) | (n > 1 ? VIRTQ_DESC_F.NEXT : 0) | (startWrap ? PACKED.F_AVAIL : PACKED.F_USED);
    this.write(desc + start * PACKED.DESC_SIZE, bufs[0]!, headFlags, slot);
    this.counts[slot] = n;
  }

  /** Calls `used(slot, len)` for each chain the device returned since the last call; returns how many. */
  take(used: (slot: number, len: number) => void): number {
    const { desc, device, size } = this.layout;
    let n = 0;
    if (!this.packed) {
      const end = this.mem.readU16(device + SPLIT.USED_IDX);
      for (; this.lastUsed !== end; this.lastUsed = (this.lastUsed + 1) & 0xffff, n++) {
        const e = device + SPLIT.USED_RING + SPLIT.USED_ELEM_SIZE * (this.lastUsed % size);
        used(Math.floor(this.mem.readU32(e) / this.perSlot), this.mem.readU32(e + 4));
      }
      return n;
    }
    for (;; n++) {
      const at = desc + this.usedNext * PACKED.DESC_SIZE;
      const flags = this.mem.readU16(at + PACKED.DESC_FLAGS);
      const avail = (flags & PACKED.F_AVAIL) !== 0;
      if (avail !== ((flags & PACKED.F_USED) !== 0) || avail !== this.usedWrap) return n;
      const slot = this.mem.readU16(at + PACKED.DESC_ID);
      used(slot, this.mem.readU32(at + PACKED.DESC_LEN));
      this.usedNext += this.counts[slot] || 1;
      if (this.usedNext >= size) {
        this.usedNext -= size;
        this.usedWrap = !this.usedWrap;
      }
    }
  }

  /** Asks for an interrupt after the next used buffer (used_event / driver event), as virtqueue_enable_cb does. */
  enableInterrupts(eventIdx: boolean): void {
    const { driver, size } = this.layout;
    if (!this.packed) {
      if (eventIdx) this.mem.writeU16(driver + SPLIT.AVAIL_RING + 2 * size, this.lastUsed);
      return;
    }
    this.mem.writeU16(driver + PACKED.EVENT_OFF_WRAP, this.usedNext | (this.usedWrap ? 0x8000 : 0));
    this.mem.writeU16(driver + PACKED.EVENT_FLAGS, eventIdx ? PACKED.EVENT_FLAGS_DESC : PACKED.EVENT_FLAGS_ENABLE);
  }
}
