import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GiB, IRQ, LAYOUT, MemoryLayoutError, NR_SPIS, MiB, pciIntxSpi, ramRegions, redistSize } from './layout.js';

type Area = [name: string, start: number, size: number];

function areas(memoryBytes: number): Area[] {
  const [ram] = ramRegions(memoryBytes);
  return [
    ['GIC distributor', LAYOUT.GIC_DIST_START, LAYOUT.GIC_DIST_SIZE],
    ['GICv2 CPU interface', LAYOUT.GIC_CPU_START, LAYOUT.GIC_CPU_SIZE],
    ['GICv3 redistributors', LAYOUT.GIC_REDIST_START, redistSize(LAYOUT.MAX_VCPUS)],
    ['UART', LAYOUT.UART_START, LAYOUT.UART_SIZE],
    ['PCI ECAM', LAYOUT.PCI_ECAM_START, LAYOUT.PCI_ECAM_SIZE],
    ['PCI MMIO window', LAYOUT.PCI_MMIO32_START, LAYOUT.PCI_MMIO32_END - LAYOUT.PCI_MMIO32_START],
    ['RAM', ram!.gpa, ram!.size],
  ];
}

test('no two regions overlap, whatever the RAM size', () => {
  for (const mem of [64 * MiB, 1 * GiB, 512 * GiB]) {
    const sorted = areas(mem).sort((a, b) => a[1] - b[1]);
    for (let i = 1; i < sorted.length; i++) {
      const [prev, prevStart, prevSize] = sorted[i - 1]!;
      const [name, start] = sorted[i]!;
      assert.ok(prevStart + prevSize <= start, `${prev} (0x${prevStart.toString(16)}+0x${prevSize.toString(16)}) overlaps ${name} (0x${start.toString(16)})`);
    }
  }
});

test('regions are aligned as KVM and the specs require', () => {
  const align = (n: number, a: number, what: string): void => assert.equal(n % a, 0, `${what} 0x${n.toString(16)} is not 0x${a.toString(16)} aligned`);
  align(LAYOUT.GIC_DIST_START, 64 * 1024, 'GIC distributor');
  align(LAYOUT.GIC_CPU_START, 64 * 1024, 'GICv2 CPU interface (64K-page hosts)');
  align(LAYOUT.GIC_REDIST_START, 64 * 1024, 'GICv3 redistributors');
  align(LAYOUT.UART_START, 4096, 'UART');
  align(LAYOUT.PCI_ECAM_START, LAYOUT.PCI_ECAM_SIZE, 'ECAM (aligned to its size)');
  align(LAYOUT.PCI_MMIO32_START, 64 * 1024, 'PCI window');
  align(LAYOUT.RAM_START, GiB, 'RAM (1 GiB: the initrd window)');
  assert.ok(LAYOUT.PCI_MMIO32_END <= 2 ** 32, 'the 32-bit window is below 4 GiB');
  assert.ok(LAYOUT.PCI_MMIO32_END <= LAYOUT.RAM_START);
});

test('interrupt numbers fit the vGIC and never collide', () => {
  assert.equal(IRQ.NR_IRQS % 32, 0, 'NR_IRQS is a multiple of 32');
  assert.ok(IRQ.NR_IRQS >= 64 && IRQ.NR_IRQS <= 1024);
  const spis = [IRQ.UART_SPI, ...Array.from({ length: IRQ.PCI_SLOTS }, (_, s) => pciIntxSpi(s))];
  assert.equal(new Set(spis).size, spis.length, 'every line has its own SPI');
  assert.ok(spis.every((s) => s >= 0 && s < NR_SPIS), 'every SPI exists');
  assert.equal(pciIntxSpi(3), 35);
  assert.throws(() => pciIntxSpi(32), RangeError);
  for (const ppi of [IRQ.TIMER_SECURE_PPI, IRQ.TIMER_NONSECURE_PPI, IRQ.TIMER_VIRTUAL_PPI, IRQ.TIMER_HYP_PPI]) assert.ok(ppi >= 0 && ppi < 16);
});

test('RAM is one region from 2 GiB; bad sizes are refused', () => {
  assert.deepEqual(ramRegions(256 * MiB), [{ gpa: 0x8000_0000, size: 256 * MiB }]);
  assert.throws(() => ramRegions(0), MemoryLayoutError);
  assert.throws(() => ramRegions(1000), MemoryLayoutError);
  assert.throws(() => ramRegions(1024 * GiB), (e: Error) => e instanceof MemoryLayoutError && /at most 1022 GiB/.test(e.message));
});
