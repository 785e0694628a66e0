// Test support: synthetic arm64 Image headers, and the real Debian arm64
// kernel another helper caches under ~/.cache/tsvmm/testhost-arm64/ (when it
// is there). Used only by *.test.ts files.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ARM64_IMAGE, ARM64_IMAGE_FLAG, PE_COFF } from './arm64_image.js';

export interface MockArm64ImageOptions {
  textOffset?: number;
  imageSize?: number;
  /** Raw flags word (default: little endian, 4K pages, place anywhere). */
  flags?: number;
  /** File length (default 64 KiB). */
  length?: number;
  /** Start with "MZ" like an EFI-stub kernel (default true). */
  efiStub?: boolean;
  /**
   * With efiStub: a PE/COFF header at 0x40 whose .text and .data sections
   * cover the file up to its end, as Linux's efi-header.S lays them out
   * (default false: 0x3c holds 0, no PE header). Needs a length of 8 KiB or more.
   */
  peHeader?: boolean;
}

/** Where the mock's PE/COFF header and its sections go. */
const MOCK_PE = { OFFSET: 0x40, OPTIONAL_HEADER_SIZE: 0x70, TEXT_START: 0x1000 } as const;

function writePeHeader(b: Uint8Array, dv: DataView): void {
  const pe = MOCK_PE.OFFSET;
  dv.setUint32(PE_COFF.PE_OFFSET_FIELD, pe, true);
  dv.setUint32(pe, PE_COFF.SIGNATURE, true);
  dv.setUint16(pe + 4, 0xaa64, true); // IMAGE_FILE_MACHINE_ARM64
  dv.setUint16(pe + PE_COFF.NUMBER_OF_SECTIONS, 2, true);
  dv.setUint16(pe + PE_COFF.SIZE_OF_OPTIONAL_HEADER, MOCK_PE.OPTIONAL_HEADER_SIZE, true);
  b.fill(0, pe + PE_COFF.OPTIONAL_HEADER, pe + PE_COFF.OPTIONAL_HEADER + MOCK_PE.OPTIONAL_HEADER_SIZE);
  const table = pe + PE_COFF.OPTIONAL_HEADER + MOCK_PE.OPTIONAL_HEADER_SIZE;
  const dataStart = MOCK_PE.TEXT_START + Math.floor((b.length - MOCK_PE.TEXT_START) / 2);
  const sections: Array<[string, number, number]> = [
    ['.text', MOCK_PE.TEXT_START, dataStart - MOCK_PE.TEXT_START],
    ['.data', dataStart, b.length - dataStart],
  ];
  sections.forEach(([name, start, size], i) => {
    const at = table + i * PE_COFF.SECTION_HEADER_SIZE;
    b.fill(0, at, at + PE_COFF.SECTION_HEADER_SIZE);
    b.set(new TextEncoder().encode(name), at);
    dv.setUint32(at + 8, size + 0x10000, true); // VirtualSize: .bss beyond the file
    dv.setUint32(at + 12, start, true); // VirtualAddress
    dv.setUint32(at + PE_COFF.SECTION_SIZE_OF_RAW_DATA, size, true);
    dv.setUint32(at + PE_COFF.SECTION_POINTER_TO_RAW_DATA, start, true);
  });
}

/** A minimal arm64 Image: the 64-byte header, then a recognisable body. */
export function mockArm64Image(o: MockArm64ImageOptions = {}): Uint8Array {
  const length = o.length ?? 0x10000;
  const b = new Uint8Array(length);
  const dv = new DataView(b.buffer);
  if (o.efiStub ?? true) b.set([0x4d, 0x5a]);
  dv.setBigUint64(ARM64_IMAGE.TEXT_OFFSET, BigInt(o.textOffset ?? 0), true);
  dv.setBigUint64(ARM64_IMAGE.IMAGE_SIZE, BigInt(o.imageSize ?? length + 0x20000), true);
  dv.setBigUint64(ARM64_IMAGE.FLAGS, BigInt(o.flags ?? ((1 << ARM64_IMAGE_FLAG.PAGE_SIZE_SHIFT) | ARM64_IMAGE_FLAG.PHYS_BASE)), true);
  dv.setUint32(ARM64_IMAGE.MAGIC_OFFSET, ARM64_IMAGE.MAGIC, true);
  for (let i = ARM64_IMAGE.HEADER_SIZE; i < length; i++) b[i] = i & 0xff;
  if ((o.efiStub ?? true) && o.peHeader === true) writePeHeader(b, dv);
  return b;
}

export const ARM64_KERNEL_DIR = join(homedir(), '.cache', 'tsvmm', 'testhost-arm64');
export const NO_ARM64_KERNEL = `no Debian arm64 kernel under ${ARM64_KERNEL_DIR} (the arm64 test-host helper puts one there); tested with synthetic headers only`;

/** Finds a cached arm64 kernel (vmlinuz-*-arm64 or Image) a few levels below ARM64_KERNEL_DIR. */
export function debianArm64ImagePath(dir: string = ARM64_KERNEL_DIR, depth = 4): string | undefined {
  if (depth < 0 || !existsSync(dir)) return undefined;
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return undefined;
  }
  for (const name of names) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isFile() && /^(vmlinuz-.*arm64|Image)$/.test(name) && st.size > 1024 * 1024) return p;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) {
      const found = debianArm64ImagePath(p, depth - 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
