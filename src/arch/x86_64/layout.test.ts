import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GiB, LAYOUT, PAGE_SIZE } from './layout.js';

test('low-memory boot structures do not overlap and stay below the EBDA', () => {
  const areas: Array<[string, number, number]> = [
    ['GDT', LAYOUT.GDT_START, 6 * 8],
    ['IDT', LAYOUT.IDT_START, 8],
    ['zero page', LAYOUT.ZERO_PAGE_START, PAGE_SIZE],
    ['stack', LAYOUT.BOOT_STACK_POINTER - 0x1000 + 0x10, 0x1000 - 0x10],
    ['PML4', LAYOUT.PML4_START, PAGE_SIZE],
    ['PDPT', LAYOUT.PDPT_START, PAGE_SIZE],
    ['PDs', LAYOUT.PD_START, LAYOUT.PD_COUNT * PAGE_SIZE],
    ['cmdline', LAYOUT.CMDLINE_START, LAYOUT.CMDLINE_MAX_SIZE],
  ];
  const sorted = [...areas].sort((a, b) => a[1] - b[1]);
  for (let i = 1; i < sorted.length; i++) {
    const [prevName, prevStart, prevLen] = sorted[i - 1]!;
    const [name, start] = sorted[i]!;
    assert.ok(prevStart + prevLen <= start, `${prevName} overlaps ${name}`);
  }
  const [lastName, lastStart, lastLen] = sorted[sorted.length - 1]!;
  assert.ok(lastStart + lastLen <= LAYOUT.EBDA_START, `${lastName} runs into the EBDA`);
  for (const [name, start] of areas.filter(([n]) => /page|PML4|PDPT|PDs/.test(n))) {
    assert.equal(start % PAGE_SIZE, 0, `${name} is page aligned`);
  }
  assert.equal(LAYOUT.BOOT_STACK_POINTER % 16, 0, 'stack is 16-byte aligned');
});

test('the 32-bit hole holds the PCI window and the platform devices', () => {
  assert.equal(LAYOUT.MMIO32_START + LAYOUT.MMIO32_SIZE, 4 * GiB);
  assert.equal(LAYOUT.RAM_ABOVE_4G_START, 4 * GiB);
  assert.ok(LAYOUT.PCI_MMIO32_START >= LAYOUT.MMIO32_START && LAYOUT.PCI_MMIO32_END <= LAYOUT.IOAPIC_START);
  for (const addr of [LAYOUT.IOAPIC_START, LAYOUT.LAPIC_START, LAYOUT.KVM_TSS_ADDRESS, LAYOUT.KVM_IDENTITY_MAP_START]) {
    assert.ok(addr >= LAYOUT.PCI_MMIO32_END && addr < 4 * GiB, `0x${addr.toString(16)} is in the platform region`);
  }
  // KVM's identity-map page sits right below its three TSS pages.
  assert.equal(LAYOUT.KVM_IDENTITY_MAP_START + PAGE_SIZE, LAYOUT.KVM_TSS_ADDRESS);
  assert.ok(LAYOUT.KVM_TSS_ADDRESS + 3 * PAGE_SIZE <= 4 * GiB);
  assert.ok(LAYOUT.MPTABLE_START >= LAYOUT.EBDA_START && LAYOUT.MPTABLE_START < LAYOUT.LOW_RAM_END);
});
