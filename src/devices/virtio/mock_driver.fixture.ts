// The driver's side of a virtqueue, for tests: lays rings out in a
// GuestMemory, builds any descriptor chain (direct, indirect, or malformed
// on purpose with the raw writers) and reads back what the device returned.
// Both layouts: SplitDriver (§2.7) and PackedDriver (§2.8). Test-only code;
// nothing in the VMM imports it.
import type { GuestMemory } from '../../memory/guest_memory.js';
import { PACKED, SPLIT, VIRTQ_DESC_F } from './constants.js';
import type { QueueLayout } from './queue.js';
import { splitRingSizes } from './queue_split.js';

/** One buffer of a chain. Without `gpa`, space is allocated; `data` is copied in. */
export interface MockBuffer {
  readonly gpa?: number;
  readonly len: number;
  readonly write?: boolean;
  readonly data?: Uint8Array;
}

/** A raw descriptor, written as is (flags included). */
export interface RawDescriptor {
  readonly addr: number;
  readonly len: number;
  readonly flags: number;
  /** Split: next index. */
  readonly next?: number;
  /** Packed: buffer id. */
  readonly id?: number;
}

export interface UsedElement {
  readonly id: number;
  readonly len: number;
}

/** A bump allocator over a range of guest RAM. */
export class MockAllocator {
  constructor(
    private next: number,
    private readonly end: number,
  ) {}
  alloc(len: number, align = 16): number {
    const gpa = Math.ceil(this.next / align) * align;
    if (gpa + len > this.end) throw new RangeError(`mock allocator exhausted (${len} bytes)`);
    this.next = gpa + Math.max(len, 1);
    return gpa;
  }
}

function placeBuffers(mem: GuestMemory, alloc: MockAllocator, buffers: readonly MockBuffer[]): number[] {
  return buffers.map((b) => {
    const gpa = b.gpa ?? alloc.alloc(b.len);
    if (b.data !== undefined && b.gpa === undefined) mem.write(gpa, b.data.subarray(0, b.len));
    return gpa;
  });
}

export class SplitDriver {
  readonly layout: QueueLayout;
  readonly alloc: MockAllocator;
  private nextDesc = 0;
  private availIdx = 0;
  private lastUsed = 0;

  /** Rings at `base`; data buffers are allocated from `dataBase` up to `dataEnd`. */
  constructor(
    readonly mem: GuestMemory,
    readonly size: number,
    base: number,
    dataBase: number,
    dataEnd: number,
  ) {
    const s = splitRingSizes(size);
    const desc = base;
    const driver = desc + s.desc;
    const device = Math.ceil((driver + s.avail) / 4) * 4;
    this.layout = { size, desc, driver, device };
    mem.fill(desc, device + s.used - desc, 0);
    this.alloc = new MockAllocator(dataBase, dataEnd);
  }

  writeDescriptor(index: number, d: RawDescriptor, table = this.layout.desc): void {
    const a = table + index * SPLIT.DESC_SIZE;
    this.mem.writeU64(a, d.addr);
    this.mem.writeU32(a + SPLIT.DESC_LEN, d.len);
    this.mem.writeU16(a + SPLIT.DESC_FLAGS, d.flags);
    this.mem.writeU16(a + SPLIT.DESC_NEXT, d.next ?? 0);
  }

  /** Builds a chain in free descriptors (or one indirect table) and makes it available. Returns the head. */
  addChain(buffers: readonly MockBuffer[], options: { indirect?: boolean; publish?: boolean } = {}): number {
    const gpas = placeBuffers(this.mem, this.alloc, buffers);
    const n = buffers.length;
    const head = this.nextDesc;
    if (options.indirect === true) {
      const table = this.alloc.alloc(n * SPLIT.DESC_SIZE);
      buffers.forEach((b, i) => {
        const flags = (b.write === true ? VIRTQ_DESC_F.WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F.NEXT : 0);
        this.writeDescriptor(i, { addr: gpas[i]!, len: b.len, flags, next: i + 1 }, table);
      });
      this.writeDescriptor(head, { addr: table, len: n * SPLIT.DESC_SIZE, flags: VIRTQ_DESC_F.INDIRECT });
      this.nextDesc = (head + 1) % this.size;
    } else {
      for (let i = 0; i < n; i++) {
        const index = (head + i) % this.size;
        const nextIndex = (index + 1) % this.size;
        const b = buffers[i]!;
        const flags = (b.write === true ? VIRTQ_DESC_F.WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F.NEXT : 0);
        this.writeDescriptor(index, { addr: gpas[i]!, len: b.len, flags, next: nextIndex });
      }
      this.nextDesc = (head + n) % this.size;
    }
    if (options.publish !== false) this.publish(head);
    return head;
  }

  /** Puts `head` in the avail ring and bumps avail.idx. */
  publish(head: number): void {
    const { driver, size } = this.layout;
    this.mem.writeU16(driver + SPLIT.AVAIL_RING + 2 * (this.availIdx % size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.mem.writeU16(driver + SPLIT.AVAIL_IDX, this.availIdx);
  }

  /** Sets avail.idx directly (e.g. to claim more buffers than exist). */
  setAvailIdx(idx: number): void {
    this.availIdx = idx & 0xffff;
    this.mem.writeU16(this.layout.driver + SPLIT.AVAIL_IDX, this.availIdx);
  }

  setNoInterrupt(on: boolean): void {
    this.mem.writeU16(this.layout.driver + SPLIT.AVAIL_FLAGS, on ? SPLIT.AVAIL_F_NO_INTERRUPT : 0);
  }
  setUsedEvent(idx: number): void {
    this.mem.writeU16(this.layout.driver + SPLIT.AVAIL_RING + 2 * this.size, idx);
  }
  availEvent(): number {
    return this.mem.readU16(this.layout.device + SPLIT.USED_RING + SPLIT.USED_ELEM_SIZE * this.size);
  }
  noNotify(): boolean {
    return (this.mem.readU16(this.layout.device + SPLIT.USED_FLAGS) & SPLIT.USED_F_NO_NOTIFY) !== 0;
  }
  usedIdx(): number {
    return this.mem.readU16(this.layout.device + SPLIT.USED_IDX);
  }

  /** Used elements added since the last call. */
  takeUsed(): UsedElement[] {
    const out: UsedElement[] = [];
    const end = this.usedIdx();
    for (; this.lastUsed !== end; this.lastUsed = (this.lastUsed + 1) & 0xffff) {
      const e = this.layout.device + SPLIT.USED_RING + SPLIT.USED_ELEM_SIZE * (this.lastUsed % this.size);
      out.push({ id: this.mem.readU32(e), len: this.mem.readU32(e + 4) });
    }
    return out;
  }
}

export class PackedDriver {
  readonly layout: QueueLayout;
  readonly alloc: MockAllocator;
  private next = 0;
  private wrap = true;
  private usedNext = 0;
  private usedWrap = true;
  private nextId = 0;
  /** Ring descriptors each outstanding buffer id took (the driver's own bookkeeping). */
  private readonly counts = new Map<number, number>();

  constructor(
    readonly mem: GuestMemory,
    readonly size: number,
    base: number,
    dataBase: number,
    dataEnd: number,
  ) {
    const desc = base;
    const driver = desc + size * PACKED.DESC_SIZE;
    const device = driver + PACKED.EVENT_SIZE;
    this.layout = { size, desc, driver, device };
    mem.fill(desc, device + PACKED.EVENT_SIZE - desc, 0);
    this.alloc = new MockAllocator(dataBase, dataEnd);
  }

  private availFlags(wrap: boolean): number {
    return wrap ? PACKED.F_AVAIL : PACKED.F_USED;
  }

  writeDescriptor(index: number, d: RawDescriptor, table = this.layout.desc): void {
    const a = table + index * PACKED.DESC_SIZE;
    this.mem.writeU64(a, d.addr);
    this.mem.writeU32(a + PACKED.DESC_LEN, d.len);
    this.mem.writeU16(a + PACKED.DESC_ID, d.id ?? 0);
    this.mem.writeU16(a + PACKED.DESC_FLAGS, d.flags);
  }

  /**
   * Writes descriptors at the next ring positions, adding the avail/used
   * bits for the current wrap counter; the first one is written last, as a
   * driver must (§2.8.21). Returns the buffer id of the last descriptor.
   */
  addRaw(descs: readonly RawDescriptor[]): number {
    const start = this.next;
    const startWrap = this.wrap;
    let pos = start;
    let wrap = startWrap;
    for (let i = 0; i < descs.length; i++) {
      if (i > 0) this.writeDescriptor(pos, { ...descs[i]!, flags: descs[i]!.flags | this.availFlags(wrap) });
      pos++;
      if (pos === this.size) {
        pos = 0;
        wrap = !wrap;
      }
    }
    this.next = pos;
    this.wrap = wrap;
    const first = descs[0]!;
    this.writeDescriptor(start, { ...first, flags: first.flags | this.availFlags(startWrap) });
    const id = descs[descs.length - 1]!.id ?? 0;
    this.counts.set(id, descs.length);
    return id;
  }

  /** Builds a chain (or one indirect descriptor) and makes it available. Returns its buffer id. */
  addChain(buffers: readonly MockBuffer[], options: { indirect?: boolean; id?: number } = {}): number {
    const gpas = placeBuffers(this.mem, this.alloc, buffers);
    const id = options.id ?? this.nextId++ % this.size;
    const n = buffers.length;
    if (options.indirect === true) {
      const table = this.alloc.alloc(n * PACKED.DESC_SIZE);
      buffers.forEach((b, i) => this.writeDescriptor(i, { addr: gpas[i]!, len: b.len, flags: b.write === true ? VIRTQ_DESC_F.WRITE : 0 }, table));
      return this.addRaw([{ addr: table, len: n * PACKED.DESC_SIZE, flags: VIRTQ_DESC_F.INDIRECT, id }]);
    }
    return this.addRaw(
      buffers.map((b, i) => ({
        addr: gpas[i]!,
        len: b.len,
        id,
        flags: (b.write === true ? VIRTQ_DESC_F.WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F.NEXT : 0),
      })),
    );
  }

  /** Used descriptors written since the last call, following the used wrap counter. */
  takeUsed(): UsedElement[] {
    const out: UsedElement[] = [];
    for (;;) {
      const a = this.layout.desc + this.usedNext * PACKED.DESC_SIZE;
      const flags = this.mem.readU16(a + PACKED.DESC_FLAGS);
      const avail = (flags & PACKED.F_AVAIL) !== 0;
      const used = (flags & PACKED.F_USED) !== 0;
      if (avail !== used || used !== this.usedWrap) return out;
      const id = this.mem.readU16(a + PACKED.DESC_ID);
      out.push({ id, len: this.mem.readU32(a + PACKED.DESC_LEN) });
      this.usedNext += this.counts.get(id) ?? 1;
      this.counts.delete(id);
      if (this.usedNext >= this.size) {
        this.usedNext -= this.size;
        this.usedWrap = !this.usedWrap;
      }
    }
  }

  /** The driver area: controls the device's interrupts. */
  setDriverEvent(flags: number, offWrap = 0): void {
    this.mem.writeU16(this.layout.driver + PACKED.EVENT_OFF_WRAP, offWrap);
    this.mem.writeU16(this.layout.driver + PACKED.EVENT_FLAGS, flags);
  }
  /** The device area: what the device asked about kicks. */
  deviceEvent(): { flags: number; offWrap: number } {
    return {
      flags: this.mem.readU16(this.layout.device + PACKED.EVENT_FLAGS),
      offWrap: this.mem.readU16(this.layout.device + PACKED.EVENT_OFF_WRAP),
    };
  }
  /** The driver's used position with its wrap bit, as Linux writes off_wrap. */
  usedPosition(): number {
    return this.usedNext | (this.usedWrap ? 0x8000 : 0);
  }
}
