import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMachineFdt, GIC_FDT, UART_CLOCK_HZ, vcpuMpidr, type MachineFdtConfig } from './machine_fdt.js';
import { cellsOf, dtcDecompile, dtcMissing, nodeAt, readFdt, stringsOf } from './fdt_reader.fixture.js';
import { IRQ, LAYOUT, MiB, pciIntxSpi } from './layout.js';

const base: MachineFdtConfig = {
  memoryBytes: 512 * MiB,
  mpidrs: [0],
  gicVersion: 3,
  cmdline: 'console=ttyS0 earlycon=uart8250,mmio,0x9000000 panic=1',
  initrd: { start: 0x9f00_0000, end: 0x9f12_3400 },
};

/** The MPIDRs KVM gives vCPUs 0..n-1. */
const mpidrsFor = (n: number): number[] => Array.from({ length: n }, (_, id) => vcpuMpidr(id));

const missing = dtcMissing();
if (missing) console.log(`# skipping the dtc checks: ${missing}`);

/** Decompiles with dtc and insists dtc had nothing to warn about. */
function dts(c: MachineFdtConfig): string {
  const { dts: text, warnings } = dtcDecompile(buildMachineFdt(c));
  assert.equal(warnings, '', `dtc warned:\n${warnings}`);
  return text;
}

/** The body of the node whose name starts with `name`, from dtc's output. */
function node(text: string, name: string): string {
  const m = new RegExp(`\\n\\t${name.replace(/[@.]/g, '\\$&')}[^\\n]*\\{\\n([\\s\\S]*?)\\n\\t\\};`).exec(text);
  assert.ok(m, `no node ${name} in:\n${text}`);
  return m[1]!;
}

test('dtc: memory, cpus, psci, GICv3, timer', { skip: missing }, () => {
  const t = dts(base);
  assert.match(node(t, 'memory@80000000'), /device_type = "memory";\s+reg = <0x00 0x80000000 0x00 0x20000000>;/);
  const cpus = node(t, 'cpus');
  assert.match(cpus, /cpu@0 \{\s+device_type = "cpu";\s+compatible = "arm,arm-v8";\s+enable-method = "psci";\s+reg = <0x00>;/);
  assert.match(node(t, 'psci'), /compatible = "arm,psci-1.0\\0arm,psci-0.2";\s+method = "hvc";/);
  const gic = node(t, 'interrupt-controller@8000000');
  assert.match(gic, /compatible = "arm,gic-v3";/);
  assert.match(gic, /reg = <0x00 0x8000000 0x00 0x10000 0x00 0x8100000 0x00 0x20000>;/, 'distributor + one redistributor');
  assert.match(gic, /interrupt-controller;\s+#interrupt-cells = <0x03>;/);
  assert.match(gic, /phandle = <0x01>;/);
  assert.match(t, /interrupt-parent = <0x01>;/);
  assert.match(node(t, 'timer'), /compatible = "arm,armv8-timer";\s+interrupts = <0x01 0x0d 0x08 0x01 0x0e 0x08 0x01 0x0b 0x08 0x01 0x0a 0x08>;/);
});

test('dtc: the UART, the PCI host bridge and chosen', { skip: missing }, () => {
  const t = dts(base);
  const uart = node(t, 'serial@9000000');
  assert.match(uart, /compatible = "ns16550a";/);
  assert.match(uart, /reg = <0x00 0x9000000 0x00 0x1000>;/);
  assert.match(uart, /interrupts = <0x00 0x01 0x01>;/, 'SPI 1, edge rising');
  assert.match(uart, new RegExp(`clock-frequency = <0x${UART_CLOCK_HZ.toString(16)}>;`));
  const pci = node(t, 'pci@10000000');
  assert.match(pci, /compatible = "pci-host-ecam-generic";\s+device_type = "pci";/);
  assert.match(pci, /#address-cells = <0x03>;\s+#size-cells = <0x02>;\s+#interrupt-cells = <0x01>;/);
  assert.match(pci, /bus-range = <0x00 0x00>;/);
  assert.match(pci, /reg = <0x00 0x10000000 0x00 0x100000>;/);
  assert.match(pci, /ranges = <0x2000000 0x00 0x40000000 0x00 0x40000000 0x00 0x40000000>;/);
  assert.match(pci, /interrupt-map-mask = <0xf800 0x00 0x00 0x07>;/);
  assert.match(pci, /interrupt-map = <0x00 0x00 0x00 0x01 0x01 0x00 0x20 0x04 0x800 0x00 0x00 0x01 0x01 0x00 0x21 0x04 /);
  assert.doesNotMatch(pci, /msi-parent|msi-map/);
  const chosen = node(t, 'chosen');
  assert.match(chosen, /bootargs = "console=ttyS0 earlycon=uart8250,mmio,0x9000000 panic=1";/);
  assert.match(chosen, /stdout-path = "\/serial@9000000";/);
  assert.match(chosen, /linux,initrd-start = <0x00 0x9f000000>;\s+linux,initrd-end = <0x00 0x9f123400>;/);
});

test('dtc: GICv2 has a CPU interface and CPU masks on the timer PPIs', { skip: missing }, () => {
  const t = dts({ ...base, gicVersion: 2, mpidrs: mpidrsFor(2) });
  const gic = node(t, 'interrupt-controller@8000000');
  assert.match(gic, /compatible = "arm,cortex-a15-gic";/);
  assert.match(gic, /reg = <0x00 0x8000000 0x00 0x1000 0x00 0x8010000 0x00 0x2000>;/);
  assert.match(node(t, 'timer'), /interrupts = <0x01 0x0d 0x308 0x01 0x0e 0x308 0x01 0x0b 0x308 0x01 0x0a 0x308>;/);
  assert.match(node(t, 'cpus'), /cpu@1 \{[^}]*reg = <0x01>;/);
});

test('every PCI slot maps INTA# to its own SPI on the GIC', () => {
  const f = readFdt(buildMachineFdt(base));
  const gic = cellsOf(nodeAt(f, '/interrupt-controller@8000000')!.props.get('phandle'))[0]!;
  const map = cellsOf(nodeAt(f, '/pci@10000000')!.props.get('interrupt-map'));
  assert.equal(map.length, IRQ.PCI_SLOTS * 8);
  for (let slot = 0; slot < IRQ.PCI_SLOTS; slot++) {
    assert.deepEqual(map.slice(slot * 8, slot * 8 + 8), [slot << 11, 0, 0, 1, gic, GIC_FDT.SPI, pciIntxSpi(slot), GIC_FDT.LEVEL_HIGH], `slot ${slot}`);
  }
});

test('the tree follows the layout and the configuration', () => {
  const f = readFdt(buildMachineFdt({ ...base, mpidrs: mpidrsFor(3), memoryBytes: 6 * 1024 * MiB, initrd: undefined }));
  assert.equal(f.header.BOOT_CPUID_PHYS, 0);
  assert.ok(f.header.TOTALSIZE < LAYOUT.FDT_MAX_SIZE);
  assert.deepEqual(cellsOf(nodeAt(f, '/memory@80000000')!.props.get('reg')), [0, LAYOUT.RAM_START, 1, 0x8000_0000], '6 GiB');
  assert.deepEqual(nodeAt(f, '/cpus')!.children.map((c) => c.name), ['cpu@0', 'cpu@1', 'cpu@2']);
  assert.deepEqual(cellsOf(nodeAt(f, '/interrupt-controller@8000000')!.props.get('reg')).slice(4), [0, LAYOUT.GIC_REDIST_START, 0, 3 * 0x20000]);
  const chosen = nodeAt(f, '/chosen')!;
  assert.equal(chosen.props.has('linux,initrd-start'), false, 'no initrd, no initrd properties');
  assert.deepEqual(stringsOf(chosen.props.get('bootargs')), [base.cmdline]);
  const ranges = cellsOf(nodeAt(f, '/pci@10000000')!.props.get('ranges'));
  assert.deepEqual(ranges.slice(3, 7), [0, LAYOUT.PCI_MMIO32_START, 0, LAYOUT.PCI_MMIO32_END - LAYOUT.PCI_MMIO32_START]);
  assert.deepEqual(cellsOf(nodeAt(f, `/serial@${LAYOUT.UART_START.toString(16)}`)!.props.get('interrupts')), [GIC_FDT.SPI, IRQ.UART_SPI, GIC_FDT.EDGE_RISING]);
});

test('vCPU MPIDRs follow KVM (16 per cluster) and bad vCPU counts are refused', () => {
  assert.equal(vcpuMpidr(0), 0);
  assert.equal(vcpuMpidr(15), 0xf);
  assert.equal(vcpuMpidr(17), 0x101);
  assert.throws(() => buildMachineFdt({ ...base, gicVersion: 2, mpidrs: mpidrsFor(9) }), /9 vCPUs do not fit a GICv2/);
  assert.throws(() => buildMachineFdt({ ...base, mpidrs: [] }), RangeError);
  assert.throws(() => buildMachineFdt({ ...base, mpidrs: [0, 1, 1] }), /share an MPIDR/);
});

for (const n of [1, 2, 4, 32]) {
  test(`dtc: ${n} vCPU(s): one psci cpu node per MPIDR, redistributors for each`, { skip: missing }, () => {
    const mpidrs = mpidrsFor(n);
    const t = dts({ ...base, mpidrs });
    const f = readFdt(buildMachineFdt({ ...base, mpidrs }));
    const cpus = nodeAt(f, '/cpus')!.children;
    assert.deepEqual(cpus.map((c) => c.name), mpidrs.map((m) => `cpu@${m.toString(16)}`));
    for (const [i, c] of cpus.entries()) {
      assert.deepEqual(cellsOf(c.props.get('reg')), [mpidrs[i]]);
      assert.deepEqual(stringsOf(c.props.get('enable-method')), ['psci']);
    }
    assert.deepEqual(cellsOf(nodeAt(f, '/interrupt-controller@8000000')!.props.get('reg')).slice(4), [0, LAYOUT.GIC_REDIST_START, 0, n * 0x20000]);
    assert.equal(f.header.BOOT_CPUID_PHYS, 0);
    assert.equal((node(t, 'cpus').match(/enable-method = "psci";/g) ?? []).length, n);
  });
}
