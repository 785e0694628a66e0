// Builds tiny ELF64 files for tests: one PT_LOAD segment holding `code`.
export function makeElf64(opts: { machine: number; code: Uint8Array; loadAddr?: number; entry?: number }): Buffer {
  const load = opts.loadAddr ?? 0x200000;
  const ehsize = 64;
  const phentsize = 56;
  const b = Buffer.alloc(ehsize + phentsize + opts.code.length);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = 2; // ELFCLASS64
  b[5] = 1; // little endian
  b[6] = 1; // EV_CURRENT
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(opts.machine, 18);
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(BigInt(opts.entry ?? load), 24);
  b.writeBigUInt64LE(BigInt(ehsize), 32); // e_phoff
  b.writeUInt16LE(ehsize, 52);
  b.writeUInt16LE(phentsize, 54);
  b.writeUInt16LE(1, 56); // e_phnum
  const ph = ehsize;
  b.writeUInt32LE(1, ph); // PT_LOAD
  b.writeUInt32LE(7, ph + 4); // RWX
  b.writeBigUInt64LE(BigInt(ehsize + phentsize), ph + 8); // p_offset
  b.writeBigUInt64LE(BigInt(load), ph + 16); // p_vaddr
  b.writeBigUInt64LE(BigInt(load), ph + 24); // p_paddr
  b.writeBigUInt64LE(BigInt(opts.code.length), ph + 32);
  b.writeBigUInt64LE(BigInt(opts.code.length), ph + 40);
  b.writeBigUInt64LE(0x1000n, ph + 48);
  Buffer.from(opts.code).copy(b, ehsize + phentsize);
  return b;
}

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
