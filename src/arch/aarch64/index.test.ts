// The aarch64 Arch end to end against a fake KVM: the same calls vmm.ts and
// the vCPU worker make, in their order, without /dev/kvm or an arm64 host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aarch64, createAarch64 } from './index.js';
import { FakeKvm } from './fake_kvm.fixture.js';
import { cellsOf, nodeAt, readFdt, stringsOf } from './fdt_reader.fixture.js';
import { IRQ, LAYOUT, MiB } from './layout.js';
import { spiIrqLine } from './gic.js';
import { UART_NODE } from './machine_fdt.js';
import { hostArch, hostArchName, UnsupportedHostError } from '../index.js';
import { ArchLimitError, type MachineContext } from '../arch.js';
import type { Kvm } from '../../kvm/system.js';
import type { VmFd } from '../../kvm/vm.js';
import { KVM_CAP } from '../../kvm/generated/uapi.js';
import { KVM_DEV_TYPE } from '../../kvm/generated/uapi_arm64.js';
import { Bus } from '../../bus/bus.js';
import { GuestMemory } from '../../memory/guest_memory.js';
import { PciBus } from '../../pci/pci_bus.js';
import { UART_IER, UART_MCR, UART_REG } from '../../devices/legacy/serial_reg.js';
import { mockArm64Image } from '../../loader/arm64_image.fixture.js';

const VM = { fd: 7 } as VmFd;
const KVM = {} as Kvm;
const MEM = 128 * MiB;

function boot(kvm: FakeKvm): { arch: ReturnType<typeof createAarch64>; memory: GuestMemory; fdt: ReturnType<typeof readFdt>; format: string } {
  const arch = createAarch64(kvm);
  const plan = arch.prepareBoot({ kernel: mockArm64Image(), initrd: new Uint8Array(1000), cmdline: arch.baseCmdline() }, MEM);
  arch.setupVm(KVM, VM, 1);
  const memory = new GuestMemory(arch.ramRegions(MEM).map((r) => ({ gpa: r.gpa, buffer: new ArrayBuffer(r.size) })));
  kvm.vcpus = 1;
  const mpidr = arch.initVcpu(KVM, VM, 4, 0, 1);
  const info = arch.loadKernel(memory, plan, { pci: [{ slot: 1, gsi: arch.pciIntxGsi(1) }], cpus: [mpidr] });
  arch.setupVcpu(KVM, VM, 4, 0, 1, info, undefined);
  arch.finishVm(KVM, VM, 1);
  const fdtAddr = info.entry['fdt']!;
  const size = new DataView(memory.slice(fdtAddr + 4, 4).slice().buffer).getUint32(0, false);
  return { arch, memory, fdt: readFdt(memory.slice(fdtAddr, size).slice()), format: info.format };
}

test('the boot sequence: vGIC, kernel + DTB, vCPU registers, vGIC init, in that order', () => {
  const kvm = new FakeKvm();
  const { fdt, format } = boot(kvm);
  assert.match(format, /^arm64 Image \(.*\), GICv3$/);
  const order = kvm.log.map((l) => l.split(' ')[0]);
  assert.equal(order[0], 'create_device');
  assert.ok(order.indexOf('vcpu_init') < kvm.log.indexOf('set_attr group=4 attr=0'), 'CTRL_INIT comes after the vCPU exists');
  assert.equal(kvm.log[kvm.log.length - 1], 'set_attr group=4 attr=0');
  assert.equal(kvm.regs.get(0x6030000000100040n), BigInt(LAYOUT.RAM_START), 'pc = the Image, text_offset 0');
  const x0 = kvm.regs.get(0x6030000000100000n)!;
  assert.equal(x0 % 8n, 0n, 'the DTB is 8-byte aligned');
  assert.equal(x0, BigInt(LAYOUT.RAM_START + MEM - LAYOUT.FDT_MAX_SIZE));
  assert.deepEqual(stringsOf(nodeAt(fdt, '/interrupt-controller@8000000')!.props.get('compatible')), ['arm,gic-v3']);
});

test('on a GICv2 host the device tree describes a GICv2', () => {
  const { fdt, format } = boot(new FakeKvm([KVM_DEV_TYPE.ARM_VGIC_V2]));
  assert.match(format, /GICv2$/);
  assert.deepEqual(stringsOf(nodeAt(fdt, '/interrupt-controller@8000000')!.props.get('compatible')), ['arm,cortex-a15-gic']);
});

test('the PCI window, INTx lines and console line agree with the device tree', () => {
  const { arch, fdt } = boot(new FakeKvm());
  const pci = nodeAt(fdt, '/pci@10000000')!;
  const ranges = cellsOf(pci.props.get('ranges'));
  assert.equal(ranges[2], arch.pciMmioWindow.start, 'PCI address');
  assert.equal(ranges[4], arch.pciMmioWindow.start, 'CPU address');
  assert.equal(ranges[6], arch.pciMmioWindow.end - arch.pciMmioWindow.start, 'size');
  const map = cellsOf(pci.props.get('interrupt-map'));
  for (const slot of [1, 2, 31]) assert.equal(map[slot * 8 + 6], arch.pciIntxGsi(slot), `slot ${slot}: GSI = SPI`);
  assert.deepEqual(cellsOf(nodeAt(fdt, `/${UART_NODE}`)!.props.get('interrupts')).slice(0, 2), [0, arch.consoleGsi]);
  assert.match(arch.baseCmdline(), new RegExp(`earlycon=uart8250,mmio,0x${LAYOUT.UART_START.toString(16)}\\b`));
  const routes = arch.defaultGsiRoutes();
  for (const gsi of [arch.consoleGsi, arch.pciIntxGsi(1), arch.pciIntxGsi(31)]) {
    assert.deepEqual(routes.find((r) => r.gsi === gsi), { gsi, kind: 'irqchip', irqchip: 0, pin: gsi }, `GSI ${gsi} routes to SPI ${gsi}`);
  }
  assert.ok(routes.every((r) => r.gsi < arch.firstMsiGsi));
});

test('loadKernel refuses a PCI device whose GSI the device tree does not map', () => {
  const arch = createAarch64(new FakeKvm());
  const plan = arch.prepareBoot({ kernel: mockArm64Image(), initrd: undefined, cmdline: '' }, MEM);
  const memory = new GuestMemory([{ gpa: LAYOUT.RAM_START, buffer: new ArrayBuffer(MEM) }]);
  assert.throws(() => arch.loadKernel(memory, plan, { pci: [], cpus: [0] }), /before setupVm created the vGIC/);
  arch.setupVm(KVM, VM, 1);
  assert.throws(() => arch.loadKernel(memory, plan, { pci: [{ slot: 1, gsi: 5 }], cpus: [0] }), /slot 1 raises GSI 5/);
});

test('the console UART and the ECAM window sit on the MMIO bus', () => {
  const kvm = new FakeKvm();
  const arch = createAarch64(kvm);
  const lines: Array<[number, boolean]> = [];
  const out: number[] = [];
  const mmio = new Bus('MMIO');
  const ctx = {
    vm: { irqLine: (irq: number, level: boolean) => lines.push([irq, level]) } as unknown as VmFd,
    memory: new GuestMemory([]),
    pio: new Bus('port I/O'),
    mmio,
    console: { input: { available: () => 0, take: () => 0 }, output: (b: number) => out.push(b), rxInterruptEnabled: () => undefined },
    requestStop: () => undefined,
  } satisfies MachineContext;
  arch.createLegacyDevices(ctx);
  arch.attachPciBus(ctx, new PciBus());
  mmio.write(LAYOUT.UART_START + UART_REG.TX, 1, 0x41);
  assert.deepEqual(out, [0x41]);
  mmio.write(LAYOUT.UART_START + UART_REG.MCR, 1, UART_MCR.OUT2);
  mmio.write(LAYOUT.UART_START + UART_REG.IER, 1, UART_IER.THRI);
  assert.deepEqual(lines.at(-1), [spiIrqLine(IRQ.UART_SPI), true], 'THRE interrupt on the UART SPI through KVM_IRQ_LINE');
  assert.equal(mmio.read(LAYOUT.PCI_ECAM_START, 2), 0x1b36, 'the host bridge at 00:00.0 (Red Hat vendor id) through ECAM');
  assert.equal(mmio.read(LAYOUT.PCI_ECAM_START + (5 << 15), 4), 0xffffffff, 'an empty slot');
});

test('an arm64 host gets this Arch, with the capabilities it needs', async () => {
  assert.equal(await hostArch('arm64'), aarch64);
  assert.equal(hostArchName('x64'), 'x86_64');
  assert.throws(() => hostArchName('riscv64'), UnsupportedHostError);
  assert.equal(aarch64.name, 'aarch64');
  assert.equal(aarch64.requiredCaps['ARM_PSCI_0_2'], KVM_CAP.ARM_PSCI_0_2);
  for (const cap of ['IRQCHIP', 'IRQFD', 'IRQ_ROUTING', 'IOEVENTFD', 'ONE_REG', 'DEVICE_CTRL']) assert.ok(cap in aarch64.requiredCaps, cap);
  assert.equal(aarch64.hostQuirk(), undefined);
});

test('setupVm refuses more vCPUs than the GIC addresses (GICv2: 8), with an ArchLimitError', () => {
  assert.throws(() => createAarch64(new FakeKvm([KVM_DEV_TYPE.ARM_VGIC_V2])).setupVm(KVM, VM, 9), (e: Error) => e instanceof ArchLimitError && /GICv2 gives a guest at most 8 vCPUs, not 9/.test(e.message));
  assert.doesNotThrow(() => createAarch64(new FakeKvm([KVM_DEV_TYPE.ARM_VGIC_V2])).setupVm(KVM, VM, 8));
  assert.doesNotThrow(() => createAarch64(new FakeKvm()).setupVm(KVM, VM, 32));
});

test('four vCPUs: secondaries powered off, the tree lists every MPIDR KVM reports, only vCPU 0 gets registers', () => {
  const kvm = new FakeKvm();
  const arch = createAarch64(kvm);
  const plan = arch.prepareBoot({ kernel: mockArm64Image(), initrd: undefined, cmdline: arch.baseCmdline() }, MEM);
  arch.setupVm(KVM, VM, 4);
  const memory = new GuestMemory(arch.ramRegions(MEM).map((r) => ({ gpa: r.gpa, buffer: new ArrayBuffer(r.size) })));
  const fds = [10, 11, 12, 13];
  const mpidrs = fds.map((fd, id) => arch.initVcpu(KVM, VM, fd, id, 4));
  assert.deepEqual(mpidrs, [0, 1, 2, 3]);
  const info = arch.loadKernel(memory, plan, { pci: [], cpus: mpidrs });
  const before = kvm.log.filter((l) => l.startsWith('set_one_reg')).length;
  fds.slice(1).forEach((fd, i) => arch.setupVcpu(KVM, VM, fd, i + 1, 4, info, undefined));
  assert.equal(kvm.log.filter((l) => l.startsWith('set_one_reg')).length, before, 'secondaries get no registers (PSCI CPU_ON sets them)');
  arch.setupVcpu(KVM, VM, fds[0]!, 0, 4, info, undefined);
  assert.ok(kvm.log.filter((l) => l.startsWith('set_one_reg')).length > before);
  kvm.vcpus = 4;
  arch.finishVm(KVM, VM, 4);
  const fdtAddr = info.entry['fdt']!;
  const size = new DataView(memory.slice(fdtAddr + 4, 4).slice().buffer).getUint32(0, false);
  const fdt = readFdt(memory.slice(fdtAddr, size).slice());
  assert.deepEqual(nodeAt(fdt, '/cpus')!.children.map((c) => c.name), ['cpu@0', 'cpu@1', 'cpu@2', 'cpu@3']);
  assert.deepEqual([...kvm.vcpuInits.values()].map((v) => v.features[0]! & 1), [0, 1, 1, 1], 'POWER_OFF on vCPUs 1-3');
});
