import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../memory/guest_memory.js';
import {
  BOOT_CR0,
  bootGdt,
  bootRegs,
  bzImageEntry,
  CR0,
  decodeGdtEntry,
  EFER,
  encodeGdtEntry,
  PTE,
  SELECTOR,
  setupLongMode,
  writeIdentityPageTables,
  type Segment,
} from './boot_cpu.js';
import { LAYOUT } from './layout.js';

const newMem = (): GuestMemory => new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(0x100000) }]);

test('encodes flat 64-bit code and data descriptors to the well-known values', () => {
  const gdt = bootGdt();
  // 0x00af9b000000ffff: limit 0xfffff, G, L, P, S, type 0xb. 0x00cf93000000ffff: G, D/B, P, S, type 3.
  assert.equal(encodeGdtEntry(gdt[SELECTOR.BOOT_CS >> 3]!), 0x00af9b000000ffffn);
  assert.equal(encodeGdtEntry(gdt[SELECTOR.BOOT_DS >> 3]!), 0x00cf93000000ffffn);
  assert.equal(encodeGdtEntry(gdt[0]!), 0n);
  // 64-bit busy TSS, byte-granular 0x67 limit.
  assert.equal(encodeGdtEntry(gdt[SELECTOR.BOOT_TSS >> 3]!), 0x00008b0000000067n);
});

test('decode inverts encode, with scattered base and limit bits', () => {
  const seg: Segment = { base: 0x12345678, limit: 0xabcde, selector: 0x28, type: 0x5, present: 1, dpl: 3, db: 1, s: 1, l: 0, g: 0, avl: 1 };
  const raw = encodeGdtEntry(seg);
  // base 31:24 | G D L AVL limit 19:16 | P DPL S type | base 23:16 || base 15:0 | limit 15:0
  assert.equal(raw, 0x125af5345678bcden);
  assert.deepEqual(decodeGdtEntry(raw, 0x28), seg);
  const paged: Segment = { ...seg, limit: 0x1234_5fff, g: 1 };
  assert.deepEqual(decodeGdtEntry(encodeGdtEntry(paged), 0x28), paged);
  assert.throws(() => encodeGdtEntry({ ...seg, g: 1, limit: 0x1000 }), RangeError, 'page-granular limit must end in 0xfff');
  assert.throws(() => encodeGdtEntry({ ...seg, limit: 0x100000 }), RangeError, 'byte limit over 20 bits');
});

test('long-mode sregs: paging, PAE, LME/LMA, CS.L=1 at 0x10, data at 0x18', () => {
  const mem = newMem();
  const s = setupLongMode(mem);
  assert.equal(s.cr0 & CR0.PE, CR0.PE);
  assert.equal(s.cr0, BOOT_CR0);
  assert.ok(s.cr0 >= 0x8000_0000, 'PG set, value is unsigned');
  assert.equal(s.cr4 & 0x20, 0x20);
  assert.equal(s.efer, EFER.LME | EFER.LMA);
  assert.equal(s.cr3, LAYOUT.PML4_START);
  assert.deepEqual([s.cs.selector, s.cs.l, s.cs.db, s.cs.present, s.cs.type, s.cs.limit], [0x10, 1, 0, 1, 0xb, 0xffffffff]);
  for (const d of [s.ds, s.es, s.fs, s.gs, s.ss]) {
    assert.deepEqual([d.selector, d.l, d.db, d.g, d.type, d.base, d.limit], [0x18, 0, 1, 1, 3, 0, 0xffffffff]);
  }
  assert.deepEqual([s.tr.selector, s.tr.s, s.tr.type, s.tr.present], [0x20, 0, 0xb, 1]);
  // The GDT in guest memory matches the registers.
  assert.equal(s.gdt.base, LAYOUT.GDT_START);
  assert.equal(s.gdt.limit, 6 * 8 - 1);
  assert.deepEqual(decodeGdtEntry(mem.readU64Big(LAYOUT.GDT_START + 0x10), 0x10), s.cs);
  assert.deepEqual(decodeGdtEntry(mem.readU64Big(LAYOUT.GDT_START + 0x18), 0x18), s.ds);
  assert.equal(mem.readU64Big(LAYOUT.IDT_START), 0n);
  assert.deepEqual(s.idt, { base: LAYOUT.IDT_START, limit: 7 });
});

/** Walks the tables like the MMU for a 2 MiB mapping; returns the physical address and the AND of U/S bits. */
function translate(mem: GuestMemory, cr3: number, va: number): { pa: number; user: boolean } {
  const idx = (shift: number): number => Math.floor(va / 2 ** shift) % 512;
  const pml4e = mem.readU64(cr3 + idx(39) * 8);
  assert.equal(pml4e & PTE.PRESENT, 1);
  const pdpte = mem.readU64((pml4e & ~0xfff) + idx(30) * 8);
  assert.equal(pdpte & PTE.PRESENT, 1);
  const pde = mem.readU64(Number(BigInt(pdpte) & ~0xfffn) + idx(21) * 8);
  assert.equal(pde & PTE.PS, PTE.PS, '2 MiB page');
  const pa = Number(BigInt(pde) & ~0x1fffffn) + (va % 0x200000);
  return { pa, user: ((pml4e & pdpte & pde) & PTE.USER) !== 0 };
}

test('identity-maps the first 4 GiB with 2 MiB pages', () => {
  const mem = newMem();
  mem.fill(LAYOUT.PML4_START, 0x1000, 0xff); // stale data must be cleared
  const cr3 = writeIdentityPageTables(mem);
  for (const va of [0, 0x7000, 0x100000 + 0x200, 0x3fffffff, 0x40000000, 0xc0000123, 0xfee00000, 0xffffffff]) {
    const t = translate(mem, cr3, va);
    assert.equal(t.pa, va, `0x${va.toString(16)}`);
    assert.equal(t.user, false);
  }
  assert.equal(mem.readU64(LAYOUT.PML4_START + 8), 0, 'only PML4[0] present');
  assert.equal(mem.readU64(LAYOUT.PDPT_START + 4 * 8), 0, 'nothing above 4 GiB');
});

test('user: true sets U/S on every level', () => {
  const mem = newMem();
  const cr3 = writeIdentityPageTables(mem, { user: true });
  assert.equal(translate(mem, cr3, 0x123456).user, true);
  assert.equal(translate(mem, cr3, 0xfffff000).user, true);
});

test('registers for the 64-bit entry', () => {
  assert.equal(bzImageEntry(), 0x100200);
  assert.deepEqual(bootRegs(bzImageEntry()), { rip: 0x100200, rsp: 0x8ff0, rbp: 0x8ff0, rsi: 0x7000, rflags: 2 });
  assert.equal(bootRegs(0x1000000).rip, 0x1000000, 'ELF e_entry used as is');
});
