// The packed virtqueue, device side (virtio 1.2 §2.8): one descriptor ring
// shared by both sides, plus two event suppression structures ("driver area":
// written by the driver, controls device->driver interrupts; "device area":
// written by the device, controls driver->device kicks).
//
// A descriptor is available when its AVAIL flag equals the device's avail
// wrap counter and its USED flag does not (§2.8.1). The device returns a
// buffer by writing a used descriptor (buffer id, length, AVAIL = USED = its
// used wrap counter) at its next used position, which then advances by the
// number of ring descriptors the buffer took (§2.8.6).
//
// Hostile-input rules, as for split rings (see queue_split.ts): ring inside
// guest RAM; a chain ends within `size` descriptors or the ring is unusable
// (VirtqueueError); buffers inside guest RAM; indirect only when negotiated,
// alone in its chain, length a non-zero multiple of 16, at most `size`
// entries (§2.8, "Driver Requirements: Scatter-Gather Support": "A driver
// MUST NOT create a descriptor list longer than the Queue Size"), not
// nested; no
// device-readable buffer after a device-writable one. The buffer id is only
// echoed back, never used as an index.
import type { GuestMemory } from '../../memory/guest_memory.js';
import { PACKED, VIRTQ_DESC_F } from './constants.js';
import {
  DescriptorChainError,
  QueueConfigError,
  VirtqueueError,
  hex,
  memoryFence,
  type DescriptorChain,
  type QueueFeatures,
  type QueueLayout,
  type Virtqueue,
} from './queue.js';

const WRAP_BIT = 0x8000;

export class PackedQueue implements Virtqueue {
  readonly size: number;
  private readonly desc: number;
  private readonly driverEvent: number;
  private readonly deviceEvent: number;
  private readonly eventIdx: boolean;
  private readonly indirect: boolean;
  private nextAvail = 0;
  private availWrap = true;
  private nextUsed = 0;
  private usedWrap = true;
  private signalledUsed = 0;
  private signalledWrap = true;
  private signalledValid = false;
  /** Ring descriptors returned since the last needsInterrupt. */
  private usedSinceSignal = 0;

  constructor(
    private readonly mem: GuestMemory,
    layout: QueueLayout,
    features: QueueFeatures,
  ) {
    const { size, desc, driver, device } = layout;
    if (!Number.isInteger(size) || size < 1 || size > PACKED.MAX_SIZE) throw new QueueConfigError(`packed queue size ${size} out of range 1..${PACKED.MAX_SIZE}`);
    if (desc % PACKED.DESC_ALIGN !== 0 || driver % PACKED.EVENT_ALIGN !== 0 || device % PACKED.EVENT_ALIGN !== 0) {
      throw new QueueConfigError(`packed queue rings misaligned: desc ${hex(desc)} driver ${hex(driver)} device ${hex(device)}`);
    }
    if (!mem.contains(desc, size * PACKED.DESC_SIZE) || !mem.contains(driver, PACKED.EVENT_SIZE) || !mem.contains(device, PACKED.EVENT_SIZE)) {
      throw new QueueConfigError(`packed queue rings outside guest RAM: desc ${hex(desc)} driver ${hex(driver)} device ${hex(device)} size ${size}`);
    }
    this.size = size;
    this.desc = desc;
    this.driverEvent = driver;
    this.deviceEvent = device;
    this.eventIdx = features.eventIdx;
    this.indirect = features.indirect;
  }

  get nextAvailIndex(): number {
    return this.nextAvail;
  }
  get availWrapCounter(): boolean {
    return this.availWrap;
  }
  get nextUsedIndex(): number {
    return this.nextUsed;
  }
  get usedWrapCounter(): boolean {
    return this.usedWrap;
  }

  private flagsAt(index: number): number {
    return this.mem.readU16(this.desc + index * PACKED.DESC_SIZE + PACKED.DESC_FLAGS);
  }

  private available(flags: number): boolean {
    const avail = (flags & PACKED.F_AVAIL) !== 0;
    const used = (flags & PACKED.F_USED) !== 0;
    return avail === this.availWrap && used !== this.availWrap;
  }

  pop(chain: DescriptorChain): boolean {
    const start = this.nextAvail;
    if (!this.available(this.flagsAt(start))) return false;
    memoryFence(); // read the descriptors only after seeing the head's flags
    chain.clear();
    // Pass 1: the chain's extent and buffer id (id of its last descriptor).
    let count = 0;
    let index = start;
    let id = 0;
    for (;;) {
      count++;
      const d = this.desc + index * PACKED.DESC_SIZE;
      id = this.mem.readU16(d + PACKED.DESC_ID);
      if ((this.mem.readU16(d + PACKED.DESC_FLAGS) & VIRTQ_DESC_F.NEXT) === 0) break;
      if (count === this.size) throw new VirtqueueError(`packed chain at ${start} does not end within the queue size ${this.size}`);
      index = index + 1 === this.size ? 0 : index + 1;
    }
    chain.id = id;
    chain.ringCount = count;
    // The chain is consumed whatever its contents.
    this.nextAvail += count;
    if (this.nextAvail >= this.size) {
      this.nextAvail -= this.size;
      this.availWrap = !this.availWrap;
    }
    // Pass 2: validate the buffers.
    index = start;
    for (let i = 0; i < count; i++) {
      const d = this.desc + index * PACKED.DESC_SIZE;
      const flags = this.mem.readU16(d + PACKED.DESC_FLAGS);
      const addr = this.address(d);
      const len = this.mem.readU32(d + PACKED.DESC_LEN);
      if ((flags & VIRTQ_DESC_F.INDIRECT) !== 0) {
        if (count !== 1) throw new DescriptorChainError(`buffer ${id}: indirect descriptor inside a chain`, id);
        this.walkIndirect(chain, addr, len);
      } else {
        this.addBuffer(chain, addr, len, flags);
      }
      index = index + 1 === this.size ? 0 : index + 1;
    }
    return true;
  }

  private address(d: number): number {
    const lo = this.mem.readU32(d + PACKED.DESC_ADDR);
    const hi = this.mem.readU32(d + PACKED.DESC_ADDR + 4);
    return hi >= 0x20_0000 ? Number.MAX_SAFE_INTEGER : hi * 0x1_0000_0000 + lo;
  }

  private addBuffer(chain: DescriptorChain, addr: number, len: number, flags: number): void {
    if (!this.mem.contains(addr, len)) throw new DescriptorChainError(`buffer ${chain.id}: ${hex(addr)}+${len} outside guest RAM`, chain.id);
    if ((flags & VIRTQ_DESC_F.WRITE) !== 0) {
      chain.addWritable(addr, len);
    } else {
      if (chain.writableCount !== 0) throw new DescriptorChainError(`buffer ${chain.id}: device-readable descriptor after a device-writable one`, chain.id);
      chain.addReadable(addr, len);
    }
  }

  // §2.8.14: the table is read in order; NEXT is meaningless inside it.
  private walkIndirect(chain: DescriptorChain, table: number, len: number): void {
    const id = chain.id;
    if (!this.indirect) throw new DescriptorChainError(`buffer ${id}: indirect descriptor without VIRTIO_F_INDIRECT_DESC`, id);
    if (len === 0 || len % PACKED.DESC_SIZE !== 0) throw new DescriptorChainError(`buffer ${id}: indirect table length ${len} is not a non-zero multiple of ${PACKED.DESC_SIZE}`, id);
    if (len / PACKED.DESC_SIZE > this.size) {
      throw new DescriptorChainError(`buffer ${id}: indirect table of ${len / PACKED.DESC_SIZE} descriptors is longer than the queue size ${this.size}`, id);
    }
    if (!this.mem.contains(table, len)) throw new DescriptorChainError(`buffer ${id}: indirect table ${hex(table)}+${len} outside guest RAM`, id);
    const n = len / PACKED.DESC_SIZE;
    for (let i = 0; i < n; i++) {
      const d = table + i * PACKED.DESC_SIZE;
      const flags = this.mem.readU16(d + PACKED.DESC_FLAGS);
      if ((flags & VIRTQ_DESC_F.INDIRECT) !== 0) throw new DescriptorChainError(`buffer ${id}: nested indirect table`, id);
      this.addBuffer(chain, this.address(d), this.mem.readU32(d + PACKED.DESC_LEN), flags);
    }
  }

  addUsed(chain: DescriptorChain, len: number): void {
    const d = this.desc + this.nextUsed * PACKED.DESC_SIZE;
    this.mem.writeU16(d + PACKED.DESC_ID, chain.id);
    this.mem.writeU32(d + PACKED.DESC_LEN, len);
    memoryFence(); // id and len are visible before the flags flip
    // WRITE marks `len` as meaningful (§2.8.4); AVAIL = USED = used wrap counter.
    const wrapFlags = this.usedWrap ? PACKED.F_AVAIL | PACKED.F_USED : 0;
    this.mem.writeU16(d + PACKED.DESC_FLAGS, wrapFlags | (len > 0 ? VIRTQ_DESC_F.WRITE : 0));
    const step = chain.ringCount > 0 ? chain.ringCount : 1;
    this.nextUsed += step;
    if (this.nextUsed >= this.size) {
      this.nextUsed -= this.size;
      this.usedWrap = !this.usedWrap;
    }
    this.usedSinceSignal += step;
  }

  needsInterrupt(): boolean {
    memoryFence(); // used flags store before the driver-area load
    const flags = this.mem.readU16(this.driverEvent + PACKED.EVENT_FLAGS);
    const used = this.usedSinceSignal;
    const valid = this.signalledValid;
    // In the current lap's coordinates: the device wrote positions [old, new).
    const oldPos = this.signalledUsed - (this.signalledWrap === this.usedWrap ? 0 : this.size);
    this.signalledUsed = this.nextUsed;
    this.signalledWrap = this.usedWrap;
    this.signalledValid = true;
    this.usedSinceSignal = 0;
    if (used === 0 || flags === PACKED.EVENT_FLAGS_DISABLE) return false;
    if (flags !== PACKED.EVENT_FLAGS_DESC || !this.eventIdx) return true;
    if (!valid || used >= this.size) return true;
    const offWrap = this.mem.readU16(this.driverEvent + PACKED.EVENT_OFF_WRAP);
    const eventWrap = (offWrap & WRAP_BIT) !== 0;
    const event = (offWrap & ~WRAP_BIT) - (eventWrap === this.usedWrap ? 0 : this.size);
    return event >= oldPos && event < this.nextUsed;
  }

  disableNotifications(): void {
    this.mem.writeU16(this.deviceEvent + PACKED.EVENT_FLAGS, PACKED.EVENT_FLAGS_DISABLE);
  }

  enableNotifications(): boolean {
    if (this.eventIdx) {
      this.mem.writeU16(this.deviceEvent + PACKED.EVENT_OFF_WRAP, this.nextAvail | (this.availWrap ? WRAP_BIT : 0));
      this.mem.writeU16(this.deviceEvent + PACKED.EVENT_FLAGS, PACKED.EVENT_FLAGS_DESC);
    } else {
      this.mem.writeU16(this.deviceEvent + PACKED.EVENT_FLAGS, PACKED.EVENT_FLAGS_ENABLE);
    }
    memoryFence(); // publish before re-checking the ring
    return this.available(this.flagsAt(this.nextAvail));
  }
}
