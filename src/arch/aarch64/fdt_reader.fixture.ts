// Test support: a strict reader for the blobs FdtWriter makes, so tests can
// check the exact bytes (alignment, string sharing, reservation map) and not
// only what dtc prints. Throws on anything a conforming blob would not have.
// Used only by *.test.ts files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FDT, FDT_HEADER } from './fdt.js';

export interface FdtNode {
  name: string;
  props: Map<string, Uint8Array>;
  /** Offset of each property's name in the strings block. */
  nameOffsets: Map<string, number>;
  children: FdtNode[];
}

export interface ParsedFdt {
  header: Record<keyof typeof FDT_HEADER, number>;
  reservations: Array<[bigint, bigint]>;
  root: FdtNode;
  strings: Uint8Array;
}

export function readFdt(blob: Uint8Array): ParsedFdt {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const header = Object.fromEntries(Object.entries(FDT_HEADER).map(([k, off]) => [k, dv.getUint32(off, false)])) as ParsedFdt['header'];
  if (header.MAGIC !== FDT.MAGIC) throw new Error(`bad magic 0x${header.MAGIC.toString(16)}`);
  if (header.TOTALSIZE !== blob.length) throw new Error(`totalsize ${header.TOTALSIZE} != ${blob.length}`);
  const reservations: Array<[bigint, bigint]> = [];
  for (let at = header.OFF_MEM_RSVMAP; ; at += 16) {
    const addr = dv.getBigUint64(at, false);
    const size = dv.getBigUint64(at + 8, false);
    if (addr === 0n && size === 0n) break;
    reservations.push([addr, size]);
  }
  const strings = blob.subarray(header.OFF_DT_STRINGS, header.OFF_DT_STRINGS + header.SIZE_DT_STRINGS);
  const stringAt = (off: number): string => {
    const end = strings.indexOf(0, off);
    if (end < 0) throw new Error(`unterminated string at ${off}`);
    return new TextDecoder().decode(strings.subarray(off, end));
  };
  let at = header.OFF_DT_STRUCT;
  const end = at + header.SIZE_DT_STRUCT;
  const token = (): number => {
    if (at % 4 !== 0) throw new Error(`token at unaligned offset ${at}`);
    const t = dv.getUint32(at, false);
    at += 4;
    return t;
  };
  const align = (): void => {
    at = (at + 3) & ~3;
  };
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  for (;;) {
    if (at >= end) throw new Error('structure block ends without FDT_END');
    const t = token();
    if (t === FDT.BEGIN_NODE) {
      const nul = blob.indexOf(0, at);
      const node: FdtNode = { name: new TextDecoder().decode(blob.subarray(at, nul)), props: new Map(), nameOffsets: new Map(), children: [] };
      at = nul + 1;
      align();
      if (stack.length === 0) root = node;
      else stack[stack.length - 1]!.children.push(node);
      stack.push(node);
    } else if (t === FDT.PROP) {
      const len = token();
      const nameOff = token();
      const node = stack[stack.length - 1];
      if (node === undefined) throw new Error('property outside a node');
      const name = stringAt(nameOff);
      node.props.set(name, blob.slice(at, at + len));
      node.nameOffsets.set(name, nameOff);
      at += len;
      align();
    } else if (t === FDT.END_NODE) {
      if (stack.pop() === undefined) throw new Error('unbalanced FDT_END_NODE');
    } else if (t === FDT.END) {
      if (stack.length !== 0 || root === undefined) throw new Error('FDT_END inside a node');
      if (at !== end) throw new Error(`FDT_END at ${at}, structure block ends at ${end}`);
      return { header, reservations, root, strings };
    } else if (t !== FDT.NOP) {
      throw new Error(`unknown token 0x${t.toString(16)} at ${at - 4}`);
    }
  }
}

/** The node at a path like "/cpus/cpu@0". */
export function nodeAt(fdt: ParsedFdt, path: string): FdtNode | undefined {
  let node: FdtNode | undefined = fdt.root;
  for (const part of path.split('/').filter((p) => p !== '')) node = node?.children.find((c) => c.name === part);
  return node;
}

/** A property's value as big-endian u32 cells. */
export function cellsOf(value: Uint8Array | undefined): number[] {
  if (value === undefined) throw new Error('no such property');
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return Array.from({ length: value.length / 4 }, (_, i) => dv.getUint32(i * 4, false));
}

/** A property's value as a list of NUL-terminated strings. */
export function stringsOf(value: Uint8Array | undefined): string[] {
  if (value === undefined) throw new Error('no such property');
  return new TextDecoder().decode(value).split('\0').slice(0, -1);
}

/** Why dtc cannot be used (so a test skips, printing it), or false when it is installed. */
export function dtcMissing(): string | false {
  const r = spawnSync('dtc', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? false : 'dtc is not installed (apt-get install -y device-tree-compiler): the blob is not checked by dtc';
}

/** Runs `dtc -I dtb -O dts` on the blob: the source text and dtc's warnings. Throws when dtc rejects it. */
export function dtcDecompile(blob: Uint8Array): { dts: string; warnings: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-fdt-'));
  try {
    const file = join(dir, 'test.dtb');
    writeFileSync(file, blob);
    const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`dtc rejected the blob (exit ${r.status}): ${r.stderr}`);
    return { dts: r.stdout, warnings: r.stderr.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
