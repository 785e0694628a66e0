// The split virtqueue, device side (virtio 1.2 §2.7): descriptor table,
// available ring (driver -> device) and used ring (device -> driver).
//
// Hostile-input rules enforced here (STYLE.md rule 4):
// - ring placement: size a power of two in 1..32768, parts aligned, all
//   three parts inside guest RAM (checked once, at construction);
// - avail.idx may not run more than `size` entries ahead (VirtqueueError);
// - a head index >= size is unusable (VirtqueueError: it cannot be returned);
// - every buffer lies inside guest RAM (GuestMemory.contains checks overflow);
// - a chain has at most `size` buffers, direct and indirect together
//   (§2.7.5.3.1: "A driver MUST NOT create a descriptor chain longer than the
//   Queue Size of the device"), so loops end and one pop reads O(size);
// - indirect tables need VIRTIO_F_INDIRECT_DESC, a length that is a non-zero
//   multiple of 16 and no longer than what the chain may still hold, no NEXT
//   flag beside INDIRECT, and may not nest;
// - a device-readable descriptor after a device-writable one is rejected.
// Malformed chains become a DescriptorChainError (see queue.ts).
import type { GuestMemory } from '../../memory/guest_memory.js';
import { SPLIT, VIRTQ_DESC_F } from './constants.js';
import {
  DescriptorChainError,
  QueueConfigError,
  VirtqueueError,
  hex,
  memoryFence,
  needEvent,
  type DescriptorChain,
  type QueueFeatures,
  type QueueLayout,
  type Virtqueue,
} from './queue.js';

/** Bytes each split-ring part takes for a queue of `size` (§2.7). */
export function splitRingSizes(size: number): { desc: number; avail: number; used: number } {
  return {
    desc: SPLIT.DESC_SIZE * size,
    avail: SPLIT.AVAIL_RING + 2 * size + 2,
    used: SPLIT.USED_RING + SPLIT.USED_ELEM_SIZE * size + 2,
  };
}

export class SplitQueue implements Virtqueue {
  readonly size: number;
  private readonly mask: number;
  private readonly desc: number;
  private readonly avail: number;
  private readonly used: number;
  private readonly eventIdx: boolean;
  private readonly indirect: boolean;
  private nextAvail = 0;
  private nextUsed = 0;
  private signalledUsed = 0;
  private signalledValid = false;
  private usedSinceSignal = false;

  constructor(
    private readonly mem: GuestMemory,
    layout: QueueLayout,
    features: QueueFeatures,
  ) {
    const { size, desc, driver, device } = layout;
    if (!Number.isInteger(size) || size < 1 || size > SPLIT.MAX_SIZE || (size & (size - 1)) !== 0) {
      throw new QueueConfigError(`split queue size ${size} is not a power of two in 1..${SPLIT.MAX_SIZE}`);
    }
    if (desc % SPLIT.DESC_ALIGN !== 0 || driver % SPLIT.AVAIL_ALIGN !== 0 || device % SPLIT.USED_ALIGN !== 0) {
      throw new QueueConfigError(`split queue rings misaligned: desc ${hex(desc)} avail ${hex(driver)} used ${hex(device)}`);
    }
    const sizes = splitRingSizes(size);
    if (!mem.contains(desc, sizes.desc) || !mem.contains(driver, sizes.avail) || !mem.contains(device, sizes.used)) {
      throw new QueueConfigError(`split queue rings outside guest RAM: desc ${hex(desc)} avail ${hex(driver)} used ${hex(device)} size ${size}`);
    }
    this.size = size;
    this.mask = size - 1;
    this.desc = desc;
    this.avail = driver;
    this.used = device;
    this.eventIdx = features.eventIdx;
    this.indirect = features.indirect;
  }

  /** The device's next avail index (free-running, mod 2^16). */
  get nextAvailIndex(): number {
    return this.nextAvail;
  }
  /** The device's next used index (free-running, mod 2^16). */
  get nextUsedIndex(): number {
    return this.nextUsed;
  }

  private pending(): number {
    return (this.mem.readU16(this.avail + SPLIT.AVAIL_IDX) - this.nextAvail) & 0xffff;
  }

  pop(chain: DescriptorChain): boolean {
    const pending = this.pending();
    if (pending === 0) return false;
    if (pending > this.size) {
      throw new VirtqueueError(`avail.idx is ${pending} entries ahead of the device, more than the queue size ${this.size}`);
    }
    memoryFence(); // read the ring entry only after avail.idx
    const head = this.mem.readU16(this.avail + SPLIT.AVAIL_RING + 2 * (this.nextAvail & this.mask));
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
    chain.clear();
    chain.id = head;
    chain.ringCount = 1;
    if (head >= this.size) throw new VirtqueueError(`avail ring head ${head} out of range for queue size ${this.size}`);
    this.walk(chain, head);
    return true;
  }

  // `count` counts buffers, direct and indirect; the descriptor pointing at
  // an indirect table is not one (Linux puts a whole request of queue-size
  // buffers in one table). Every iteration but that one adds a buffer, so the
  // loop ends within size + 1 descriptors whatever the NEXT links say.
  private walk(chain: DescriptorChain, head: number): void {
    const mem = this.mem;
    const size = this.size;
    let table = this.desc;
    let entries = size;
    let index = head;
    let count = 0;
    let inIndirect = false;
    for (;;) {
      if (count === size) throw new DescriptorChainError(`head ${head}: chain longer than the queue size ${size} (loop?)`, head);
      const d = table + index * SPLIT.DESC_SIZE;
      const lo = mem.readU32(d + SPLIT.DESC_ADDR);
      const hi = mem.readU32(d + SPLIT.DESC_ADDR + 4);
      const len = mem.readU32(d + SPLIT.DESC_LEN);
      const flags = mem.readU16(d + SPLIT.DESC_FLAGS);
      const next = mem.readU16(d + SPLIT.DESC_NEXT);
      // A 64-bit address beyond 2^53 is beyond any guest RAM.
      const addr = hi >= 0x20_0000 ? Number.MAX_SAFE_INTEGER : hi * 0x1_0000_0000 + lo;
      if ((flags & VIRTQ_DESC_F.INDIRECT) !== 0) {
        if (!this.indirect) throw new DescriptorChainError(`head ${head}: indirect descriptor without VIRTIO_F_INDIRECT_DESC`, head);
        if (inIndirect) throw new DescriptorChainError(`head ${head}: nested indirect table`, head);
        if ((flags & VIRTQ_DESC_F.NEXT) !== 0) throw new DescriptorChainError(`head ${head}: indirect descriptor with NEXT`, head);
        if (len === 0 || len % SPLIT.DESC_SIZE !== 0) throw new DescriptorChainError(`head ${head}: indirect table length ${len} is not a non-zero multiple of ${SPLIT.DESC_SIZE}`, head);
        if (len / SPLIT.DESC_SIZE > size - count) {
          throw new DescriptorChainError(`head ${head}: indirect table of ${len / SPLIT.DESC_SIZE} descriptors after ${count} makes the chain longer than the queue size ${size}`, head);
        }
        if (addr % 2 !== 0 || !mem.contains(addr, len)) throw new DescriptorChainError(`head ${head}: indirect table ${hex(addr)}+${len} outside guest RAM`, head);
        table = addr;
        entries = len / SPLIT.DESC_SIZE;
        index = 0;
        inIndirect = true;
        continue;
      }
      count++;
      if (!mem.contains(addr, len)) throw new DescriptorChainError(`head ${head}: buffer ${hex(addr)}+${len} outside guest RAM`, head);
      if ((flags & VIRTQ_DESC_F.WRITE) !== 0) {
        chain.addWritable(addr, len);
      } else {
        if (chain.writableCount !== 0) throw new DescriptorChainError(`head ${head}: device-readable descriptor after a device-writable one`, head);
        chain.addReadable(addr, len);
      }
      if ((flags & VIRTQ_DESC_F.NEXT) === 0) return;
      if (next >= entries) throw new DescriptorChainError(`head ${head}: next index ${next} out of range ${entries}`, head);
      index = next;
    }
  }

  addUsed(chain: DescriptorChain, len: number): void {
    const elem = this.used + SPLIT.USED_RING + SPLIT.USED_ELEM_SIZE * (this.nextUsed & this.mask);
    this.mem.writeU32(elem, chain.id);
    this.mem.writeU32(elem + 4, len);
    this.nextUsed = (this.nextUsed + 1) & 0xffff;
    memoryFence(); // the element is visible before used.idx moves
    this.mem.writeU16(this.used + SPLIT.USED_IDX, this.nextUsed);
    this.usedSinceSignal = true;
  }

  needsInterrupt(): boolean {
    memoryFence(); // used.idx store before the used_event / flags load (§2.7.10)
    if (this.eventIdx) {
      const event = this.mem.readU16(this.avail + SPLIT.AVAIL_RING + 2 * this.size);
      const valid = this.signalledValid;
      const old = this.signalledUsed;
      this.signalledValid = true;
      this.signalledUsed = this.nextUsed;
      this.usedSinceSignal = false;
      return !valid || needEvent(event, this.nextUsed, old);
    }
    const any = this.usedSinceSignal;
    this.usedSinceSignal = false;
    return any && (this.mem.readU16(this.avail + SPLIT.AVAIL_FLAGS) & SPLIT.AVAIL_F_NO_INTERRUPT) === 0;
  }

  disableNotifications(): void {
    // With EVENT_IDX, not moving avail_event is what suppresses kicks.
    if (this.eventIdx) return;
    const flags = this.mem.readU16(this.used + SPLIT.USED_FLAGS);
    this.mem.writeU16(this.used + SPLIT.USED_FLAGS, flags | SPLIT.USED_F_NO_NOTIFY);
  }

  enableNotifications(): boolean {
    if (this.eventIdx) {
      this.mem.writeU16(this.used + SPLIT.USED_RING + SPLIT.USED_ELEM_SIZE * this.size, this.nextAvail);
    } else {
      const flags = this.mem.readU16(this.used + SPLIT.USED_FLAGS);
      this.mem.writeU16(this.used + SPLIT.USED_FLAGS, flags & ~SPLIT.USED_F_NO_NOTIFY);
    }
    memoryFence(); // publish the request for kicks before re-reading avail.idx
    return this.pending() !== 0;
  }
}
