// A flattened device tree (DTB) writer, version 17.
//
// Source: the Devicetree Specification v0.4, chapter 5 ("Flattened Devicetree
// (DTB) Format") and 2.2.1 (node and property names). The blob is:
//   header (40 bytes, big endian) | memory reservation map (8-byte aligned
//   {u64 address, u64 size} pairs, ending with a zero pair) | structure block
//   (u32 tokens; node names and property values padded to 4 bytes) | strings
//   block (each property name once, NUL terminated).
// Nodes are written depth first: beginNode, its properties, its children,
// endNode. Phandles are handed out by label so a property can point at a node
// written later (interrupt-parent before the GIC); finish() refuses a label
// no node claimed. Pure: knows nothing of arm64; machine_fdt.ts builds the tree.
import { ByteSink } from './byte_sink.js';
import { TsvmmError } from '../../base/errors.js';

/** Header magic, versions and structure-block tokens (spec 5.2, 5.4.1). */
export const FDT = {
  MAGIC: 0xd00dfeed,
  VERSION: 17,
  LAST_COMP_VERSION: 16,
  HEADER_SIZE: 40,
  BEGIN_NODE: 0x1,
  END_NODE: 0x2,
  PROP: 0x3,
  NOP: 0x4,
  END: 0x9,
} as const;

/** Header field offsets (spec 5.2, struct fdt_header). */
export const FDT_HEADER = {
  MAGIC: 0,
  TOTALSIZE: 4,
  OFF_DT_STRUCT: 8,
  OFF_DT_STRINGS: 12,
  OFF_MEM_RSVMAP: 16,
  VERSION: 20,
  LAST_COMP_VERSION: 24,
  BOOT_CPUID_PHYS: 28,
  SIZE_DT_STRINGS: 32,
  SIZE_DT_STRUCT: 36,
} as const;

export class FdtError extends TsvmmError {}

/** Spec 2.2.1: node-name[@unit-address], 1-31 characters for the name part. */
const NODE_NAME = /^[A-Za-z0-9,._+-]{1,31}(@[A-Za-z0-9,._+-]+)?$/;
/** Spec 2.2.4: property names, 1-31 characters. */
const PROP_NAME = /^[A-Za-z0-9,._+?#-]{1,31}$/;

/** A u64 as two big-endian cells (high first), for reg, ranges and the like. */
export function cells64(n: number): [number, number] {
  if (!Number.isSafeInteger(n) || n < 0) throw new FdtError(`${n} is not a 64-bit cell value`);
  return [Math.floor(n / 0x1_0000_0000), n % 0x1_0000_0000];
}

interface OpenNode {
  readonly path: string;
  readonly props: Set<string>;
  readonly children: Set<string>;
}

const utf8 = new TextEncoder();

const childPath = (parent: string, name: string): string => (parent === '/' ? `/${name}` : `${parent}/${name}`);

function cstring(s: string, what: string): Uint8Array {
  if (s.includes('\0')) throw new FdtError(`${what} contains a NUL byte`);
  const b = utf8.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

export class FdtWriter {
  private readonly struct = new ByteSink();
  private readonly strings = new ByteSink();
  private readonly stringOffsets = new Map<string, number>();
  private readonly reservations: Array<[number, number]> = [];
  private readonly stack: OpenNode[] = [];
  private readonly phandles = new Map<string, number>();
  private readonly claimed = new Set<number>();
  private rootDone = false;
  private finished = false;

  /** Adds a memory reservation entry (spec 5.3): RAM the OS must not use. */
  reserveMemory(address: number, size: number): void {
    cells64(address);
    cells64(size);
    if (size === 0) throw new FdtError('a memory reservation of size 0 would end the reservation map');
    this.reservations.push([address, size]);
  }

  /** Opens a node; the first one is the root, named ''. */
  beginNode(name: string): void {
    const parent = this.stack[this.stack.length - 1];
    if (parent === undefined) {
      if (this.rootDone) throw new FdtError(`node "${name}" after the root node was closed`);
      if (name !== '') throw new FdtError(`the root node is named "", not "${name}"`);
    } else {
      if (!NODE_NAME.test(name)) throw new FdtError(`bad node name "${name}" under ${parent.path}`);
      if (parent.children.has(name)) throw new FdtError(`duplicate node ${childPath(parent.path, name)}`);
      parent.children.add(name);
    }
    this.stack.push({ path: parent === undefined ? '/' : childPath(parent.path, name), props: new Set(), children: new Set() });
    this.struct.u32(FDT.BEGIN_NODE);
    this.struct.raw(cstring(name, 'node name'));
    this.struct.pad4();
  }

  endNode(): void {
    if (this.stack.pop() === undefined) throw new FdtError('endNode without an open node');
    this.struct.u32(FDT.END_NODE);
    if (this.stack.length === 0) this.rootDone = true;
  }

  /** A property with raw bytes; properties precede the node's children (spec 5.4.1). */
  property(name: string, value: Uint8Array): void {
    const node = this.stack[this.stack.length - 1];
    if (node === undefined) throw new FdtError(`property "${name}" outside any node`);
    if (!PROP_NAME.test(name)) throw new FdtError(`bad property name "${name}" in ${node.path}`);
    if (node.children.size > 0) throw new FdtError(`property "${name}" in ${node.path} comes after a child node`);
    if (node.props.has(name)) throw new FdtError(`duplicate property ${node.path}:${name}`);
    node.props.add(name);
    this.struct.u32(FDT.PROP);
    this.struct.u32(value.length);
    this.struct.u32(this.stringOffset(name));
    this.struct.raw(value);
    this.struct.pad4();
  }

  propEmpty(name: string): void {
    this.property(name, new Uint8Array(0));
  }
  propU32(name: string, v: number): void {
    this.propCells(name, [v]);
  }
  propU64(name: string, v: number): void {
    this.propCells(name, cells64(v));
  }
  /** A <u32 ...> list. */
  propCells(name: string, cells: readonly number[]): void {
    const b = new Uint8Array(cells.length * 4);
    const dv = new DataView(b.buffer);
    cells.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c > 0xffffffff) throw new FdtError(`${name}: cell ${c} is not a u32`);
      dv.setUint32(i * 4, c, false);
    });
    this.property(name, b);
  }
  propString(name: string, s: string): void {
    this.property(name, cstring(s, name));
  }
  /** A string list: each NUL terminated, one after the other. */
  propStrings(name: string, list: readonly string[]): void {
    const parts = list.map((s) => cstring(s, name));
    const b = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      b.set(p, at);
      at += p.length;
    }
    this.property(name, b);
  }

  /** The phandle for `label`, allocated (from 1) on first use. */
  phandle(label: string): number {
    let p = this.phandles.get(label);
    if (p === undefined) {
      p = this.phandles.size + 1;
      this.phandles.set(label, p);
    }
    return p;
  }

  /** Gives the open node the phandle of `label` (its "phandle" property). */
  claimPhandle(label: string): void {
    const p = this.phandle(label);
    if (this.claimed.has(p)) throw new FdtError(`phandle "${label}" is claimed by two nodes`);
    this.propU32('phandle', p);
    this.claimed.add(p);
  }

  /** Returns the blob. `bootCpuId` is the boot CPU's reg value; `maxSize` a limit (booting.rst: 2 MiB on arm64). */
  finish(opts: { bootCpuId?: number; maxSize?: number } = {}): Uint8Array {
    if (this.finished) throw new FdtError('finish() was already called');
    if (!this.rootDone || this.stack.length > 0) throw new FdtError(`unclosed node ${this.stack[this.stack.length - 1]?.path ?? '/'} (or no root node)`);
    for (const [label, p] of this.phandles) {
      if (!this.claimed.has(p)) throw new FdtError(`phandle "${label}" is referenced but no node claims it`);
    }
    this.struct.u32(FDT.END);
    this.finished = true;
    const rsvOff = FDT.HEADER_SIZE; // 40: already 8-byte aligned
    const rsvSize = (this.reservations.length + 1) * 16;
    const structOff = rsvOff + rsvSize;
    const stringsOff = structOff + this.struct.length;
    const total = stringsOff + this.strings.length;
    if (opts.maxSize !== undefined && total > opts.maxSize) throw new FdtError(`device tree is ${total} bytes, over the ${opts.maxSize}-byte limit`);
    const out = new Uint8Array(total);
    const dv = new DataView(out.buffer);
    const h: Array<[number, number]> = [
      [FDT_HEADER.MAGIC, FDT.MAGIC],
      [FDT_HEADER.TOTALSIZE, total],
      [FDT_HEADER.OFF_DT_STRUCT, structOff],
      [FDT_HEADER.OFF_DT_STRINGS, stringsOff],
      [FDT_HEADER.OFF_MEM_RSVMAP, rsvOff],
      [FDT_HEADER.VERSION, FDT.VERSION],
      [FDT_HEADER.LAST_COMP_VERSION, FDT.LAST_COMP_VERSION],
      [FDT_HEADER.BOOT_CPUID_PHYS, opts.bootCpuId ?? 0],
      [FDT_HEADER.SIZE_DT_STRINGS, this.strings.length],
      [FDT_HEADER.SIZE_DT_STRUCT, this.struct.length],
    ];
    for (const [at, v] of h) dv.setUint32(at, v, false);
    this.reservations.forEach(([addr, size], i) => {
      dv.setBigUint64(rsvOff + i * 16, BigInt(addr), false);
      dv.setBigUint64(rsvOff + i * 16 + 8, BigInt(size), false);
    });
    out.set(this.struct.result(), structOff);
    out.set(this.strings.result(), stringsOff);
    return out;
  }

  private stringOffset(name: string): number {
    let off = this.stringOffsets.get(name);
    if (off === undefined) {
      off = this.strings.length;
      this.strings.raw(cstring(name, 'property name'));
      this.stringOffsets.set(name, off);
    }
    return off;
  }
}
