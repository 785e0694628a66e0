// Test support: builds small, well-formed kernel images byte by byte, so the
// parsers can be tested on valid input and on each kind of corruption, and
// finds the real Debian kernel that scripts/fetch-debian-kernel.sh caches.
// Used only by *.test.ts files.
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SETUP_HEADER } from './bzimage.js';

export interface MockBzImageOptions {
  version?: number;
  /** Raw setup_sects byte (0 means 4). */
  setupSects?: number;
  loadflags?: number;
  xloadflags?: number;
  kernelAlignment?: number;
  relocatable?: boolean;
  initrdAddrMax?: number;
  cmdlineSize?: number;
  prefAddress?: number;
  initSize?: number;
  /** Compressed payload, placed at payloadOffset in the protected-mode part. */
  payload?: Uint8Array;
  payloadOffset?: number;
  /** Bytes of protected-mode kernel after the payload. */
  tail?: number;
  versionString?: string;
  /** Raw syssize (16-byte paragraphs); default: the protected-mode part, which the file is padded to (as build.c does). */
  syssize?: number;
}

/** A minimal bzImage: boot sector + setup, then a protected-mode part holding the payload. */
export function mockBzImage(o: MockBzImageOptions = {}): Uint8Array {
  const rawSects = o.setupSects ?? 4;
  const setupSize = ((rawSects === 0 ? 4 : rawSects) + 1) * 512;
  const payload = o.payload ?? new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3, 4]);
  const payloadOffset = o.payloadOffset ?? 0x100;
  const paragraphs = Math.ceil((payloadOffset + payload.length + (o.tail ?? 0x40)) / 16);
  const b = new Uint8Array(setupSize + paragraphs * 16);
  const dv = new DataView(b.buffer);
  b[SETUP_HEADER.SETUP_SECTS] = rawSects;
  dv.setUint32(SETUP_HEADER.SYSSIZE, o.syssize ?? paragraphs, true);
  dv.setUint16(SETUP_HEADER.BOOT_FLAG, 0xaa55, true);
  b[SETUP_HEADER.JUMP] = 0xeb;
  b[SETUP_HEADER.JUMP + 1] = 0x6a; // header ends at 0x26c, as in protocol 2.15
  dv.setUint32(SETUP_HEADER.HEADER, 0x53726448, true);
  dv.setUint16(SETUP_HEADER.VERSION, o.version ?? 0x020f, true);
  b[SETUP_HEADER.LOADFLAGS] = o.loadflags ?? 0x01;
  dv.setUint32(SETUP_HEADER.INITRD_ADDR_MAX, o.initrdAddrMax ?? 0x7fffffff, true);
  dv.setUint32(SETUP_HEADER.KERNEL_ALIGNMENT, o.kernelAlignment ?? 0x200000, true);
  b[SETUP_HEADER.RELOCATABLE_KERNEL] = (o.relocatable ?? true) ? 1 : 0;
  b[SETUP_HEADER.MIN_ALIGNMENT] = 21;
  dv.setUint16(SETUP_HEADER.XLOADFLAGS, o.xloadflags ?? 0x7f, true);
  dv.setUint32(SETUP_HEADER.CMDLINE_SIZE, o.cmdlineSize ?? 2047, true);
  dv.setUint32(SETUP_HEADER.PAYLOAD_OFFSET, payloadOffset, true);
  dv.setUint32(SETUP_HEADER.PAYLOAD_LENGTH, payload.length, true);
  const pref = o.prefAddress ?? 0x1000000;
  dv.setUint32(SETUP_HEADER.PREF_ADDRESS, pref % 0x1_0000_0000, true);
  dv.setUint32(SETUP_HEADER.PREF_ADDRESS + 4, Math.floor(pref / 0x1_0000_0000), true);
  dv.setUint32(SETUP_HEADER.INIT_SIZE, o.initSize ?? 0x2000000, true);
  if (o.versionString !== undefined) {
    const at = 0x400;
    dv.setUint16(SETUP_HEADER.KERNEL_VERSION, at - 0x200, true);
    b.set(new TextEncoder().encode(o.versionString), at);
  }
  b.set(payload, setupSize + payloadOffset);
  return b;
}

/** Appends the little-endian u32 size trailer the kernel build adds after a compressed stream. */
export function withSizeTrailer(stream: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(stream.length + 4);
  out.set(stream);
  new DataView(out.buffer).setUint32(stream.length, size, true);
  return out;
}

export interface MockSegment {
  paddr: bigint;
  vaddr?: bigint;
  data: Uint8Array;
  memsz?: number;
}

export interface MockNote {
  name: string;
  type: number;
  desc: Uint8Array;
}

export interface MockElfOptions {
  machine?: number;
  entry?: bigint;
  segments?: MockSegment[];
  notes?: MockNote[];
}

const pad4 = (n: number): number => (n + 3) & ~3;

/** Encodes ELF notes (namesz, descsz, type, name\0 padded, desc padded). */
export function encodeNotes(notes: readonly MockNote[]): Uint8Array {
  const encoded = notes.map((n) => ({ n, name: new TextEncoder().encode(n.name + '\0') }));
  const out = new Uint8Array(encoded.reduce((len, { n, name }) => len + 12 + pad4(name.length) + pad4(n.desc.length), 0));
  const dv = new DataView(out.buffer);
  let at = 0;
  for (const { n, name } of encoded) {
    dv.setUint32(at, name.length, true);
    dv.setUint32(at + 4, n.desc.length, true);
    dv.setUint32(at + 8, n.type, true);
    out.set(name, at + 12);
    out.set(n.desc, at + 12 + pad4(name.length));
    at += 12 + pad4(name.length) + pad4(n.desc.length);
  }
  return out;
}

/** A minimal ELF64 little-endian executable with the given PT_LOADs and one PT_NOTE. */
export function mockElf(o: MockElfOptions = {}): Uint8Array {
  const segments = o.segments ?? [{ paddr: 0x100000n, data: new Uint8Array([0x90, 0x90, 0xf4]), memsz: 0x10 }];
  const notes = o.notes !== undefined ? encodeNotes(o.notes) : undefined;
  const phnum = segments.length + (notes !== undefined ? 1 : 0);
  let offset = 64 + phnum * 56;
  const blobs: Array<{ offset: number; data: Uint8Array }> = [];
  const place = (data: Uint8Array): number => {
    const at = offset;
    blobs.push({ offset: at, data });
    offset += data.length;
    return at;
  };
  const b0 = new Uint8Array(0x10000);
  const dv = new DataView(b0.buffer);
  b0.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, o.machine ?? 62, true);
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, o.entry ?? segments[0]!.paddr, true);
  dv.setBigUint64(32, 64n, true);
  dv.setUint16(52, 64, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, phnum, true);
  let ph = 64;
  for (const s of segments) {
    const at = place(s.data);
    dv.setUint32(ph, 1, true); // PT_LOAD
    dv.setUint32(ph + 4, 5, true); // R+X
    dv.setBigUint64(ph + 8, BigInt(at), true);
    dv.setBigUint64(ph + 16, s.vaddr ?? s.paddr, true);
    dv.setBigUint64(ph + 24, s.paddr, true);
    dv.setBigUint64(ph + 32, BigInt(s.data.length), true);
    dv.setBigUint64(ph + 40, BigInt(s.memsz ?? s.data.length), true);
    dv.setBigUint64(ph + 48, 0x1000n, true);
    ph += 56;
  }
  if (notes !== undefined) {
    const at = place(notes);
    dv.setUint32(ph, 4, true); // PT_NOTE
    dv.setBigUint64(ph + 8, BigInt(at), true);
    dv.setBigUint64(ph + 32, BigInt(notes.length), true);
    dv.setBigUint64(ph + 40, BigInt(notes.length), true);
  }
  const out = new Uint8Array(offset);
  out.set(b0.subarray(0, 64 + phnum * 56));
  for (const blob of blobs) out.set(blob.data, blob.offset);
  return out;
}

/** The cached Debian bzImage (TSVMM_DEBIAN_BZIMAGE, or scripts/fetch-debian-kernel.sh's cache), if any. */
export function debianBzImagePath(): string | undefined {
  const fromEnv = process.env['TSVMM_DEBIAN_BZIMAGE'];
  if (fromEnv !== undefined && fromEnv !== '') return existsSync(fromEnv) ? fromEnv : undefined;
  const cache = join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'tsvmm', 'debian-kernel');
  if (!existsSync(cache)) return undefined;
  const images = readdirSync(cache).filter((n) => n.startsWith('vmlinuz-')).sort();
  const last = images[images.length - 1];
  return last === undefined ? undefined : join(cache, last);
}

export const NO_DEBIAN_KERNEL =
  'no Debian kernel: run scripts/fetch-debian-kernel.sh or set TSVMM_DEBIAN_BZIMAGE=/path/to/vmlinuz';
