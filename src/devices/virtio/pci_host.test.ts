// The vCPU-side host of virtio-pci devices, against a fake VmFd: what a
// guest moving BAR 0 around (onto another device's BAR, RAM, an interrupt
// controller, the UART, ECAM) does to the MMIO bus and the ioeventfds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../bus/bus.js';
import { GsiRouter } from '../../kvm/gsi_router.js';
import { BarSpace, type AddressRange } from '../../pci/bar_space.js';
import { PCI_REG } from '../../pci/constants.js';
import { assignPciResources } from '../../pci/firmware.js';
import { x86_64Machine } from '../../arch/x86_64/machine.js';
import { createAarch64Machine } from '../../arch/aarch64/machine.js';
import { LAYOUT as X86 } from '../../arch/x86_64/layout.js';
import { LAYOUT as ARM } from '../../arch/aarch64/layout.js';
import { BlockDevice } from './block/device.js';
import { VIRTIO_COMMON as C } from './constants.js';
import { VirtioPciHost, type VirtioHostVm } from './pci_host.js';
import { VIRTIO_BAR, VirtioPciTransport } from './pci_transport.js';
import { createSharedState } from './shared_state.js';
import { createDeviceCounters } from './metrics.js';
import type { VirtioDeviceSpec } from './spec.js';

/** KVM's ioeventfd bookkeeping as far as it matters here: an address is assigned once, deassigned once. */
class FakeVm implements VirtioHostVm {
  readonly live = new Map<number, number>(); // address -> eventfd
  ioeventfd(eventfd: number, addr: number, length: number, opts: { deassign?: boolean } = {}): void {
    assert.equal(length, 2);
    if (opts.deassign === true) {
      if (this.live.get(addr) !== eventfd) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      this.live.delete(addr);
    } else {
      if (this.live.has(addr)) throw Object.assign(new Error('EEXIST'), { code: 'EEXIST' });
      this.live.set(addr, eventfd);
    }
  }
  irqfd(): void {}
}

const KICK_FD = (slot: number): number => 100 + slot;

function fakeSpec(slot: number, barGpa: number): VirtioDeviceSpec {
  return {
    backend: { kind: 'blk', fd: -1, size: 64 * 512, readOnly: false, serial: 'x' },
    slot,
    barGpa,
    intxGsi: 16,
    numQueues: 1,
    state: createSharedState(1, true).buffer as SharedArrayBuffer,
    control: new SharedArrayBuffer(16),
    kickFds: [KICK_FD(slot)],
    controlFd: -1,
    msiFds: [-1, -1],
    intxFd: -1,
    intxResampleFd: -1,
    counters: createDeviceCounters(),
  };
}

/** A machine's MMIO side with two virtio-blk devices, placed as firmware would. */
function machine(fixed: readonly AddressRange[], barA: number, barB: number, onBus: Array<[number, number]> = []) {
  const vm = new FakeVm();
  const mmio = new Bus('MMIO');
  for (const [base, size] of onBus) mmio.register(base, size, { read: () => 0x5a, write: () => undefined });
  const lines: string[] = [];
  const bars = new BarSpace(mmio, fixed, (l) => lines.push(l));
  const router = new GsiRouter({ setGsiRouting: () => undefined }, [], 24);
  const make = (slot: number, gpa: number) => {
    const spec = fakeSpec(slot, gpa);
    const host = new VirtioPciHost(vm, mmio, bars, router, spec, (l) => lines.push(l));
    const t = new VirtioPciTransport(new BlockDevice({ size: 64 * 512, readOnly: false, serial: 'x' }), new Int32Array(spec.state), host);
    host.attach(t);
    assignPciResources(t.config, { bars: [[VIRTIO_BAR.INDEX, gpa]], intxLine: 16 });
    /** What the guest does: a 32-bit write of BAR 0's low dword (the high one stays 0). */
    const moveTo = (addr: number): void => t.configWrite(PCI_REG.BAR0, 4, addr);
    return { t, moveTo };
  };
  const a = make(1, barA);
  const b = make(2, barB);
  /** num_queues of the device decoding at `bar`, as the guest reads it (all ones: nobody). */
  const numQueuesAt = (bar: number): number => mmio.read(bar + VIRTIO_BAR.COMMON + C.NUM_QUEUES, 2);
  const notifyAt = (bar: number): number => bar + VIRTIO_BAR.NOTIFY;
  return { vm, mmio, lines, bars, a, b, numQueuesAt, notifyAt };
}

const X86_RAM: AddressRange = { start: 0, end: 64 << 20, name: 'guest RAM' };
const A = 0xc000_0000;
const B = 0xc001_0000;

test('x86_64: a BAR moved onto another device\'s BAR is not decoded, the VMM goes on, and it works again once moved back', () => {
  const m = machine([X86_RAM, ...x86_64Machine.reservedRanges], A, B);
  assert.equal(m.numQueuesAt(A), 1);
  assert.equal(m.numQueuesAt(B), 1);
  assert.deepEqual([...m.vm.live], [[m.notifyAt(A), KICK_FD(1)], [m.notifyAt(B), KICK_FD(2)]]);

  m.a.moveTo(B); // used to throw "MMIO bus: ... overlaps ..." out of the vCPU thread
  assert.equal(m.numQueuesAt(A), 0xffff, 'nothing decodes at the old address');
  assert.equal(m.numQueuesAt(B), 1, 'B still answers at its own address');
  assert.deepEqual([...m.vm.live], [[m.notifyAt(B), KICK_FD(2)]], "A's ioeventfd is gone, B's stays");
  assert.equal(m.lines.length, 1);
  assert.match(m.lines[0]!, /PCI slot 1 BAR 0 at 0xc0010000-0xc0017fff overlaps PCI slot 2 BAR 0 on the MMIO bus \(0xc0010000-0xc0017fff\): not decoded/);

  m.a.moveTo(A);
  assert.equal(m.numQueuesAt(A), 1, 'decoded again');
  assert.deepEqual(new Map(m.vm.live), new Map([[m.notifyAt(A), KICK_FD(1)], [m.notifyAt(B), KICK_FD(2)]]), 'and its ioeventfd is back');
});

test('x86_64: RAM, the IOAPIC, the local APIC and KVM\'s private pages are never covered by a BAR', () => {
  const m = machine([X86_RAM, ...x86_64Machine.reservedRanges], A, B);
  const targets: Array<[number, RegExp]> = [
    [0x10_0000, /guest RAM/],
    [X86.IOAPIC_START, /the IOAPIC/],
    [X86.LAPIC_START, /the local APIC/],
    // 32 KiB-aligned (the BAR's size), over KVM's identity-map page and its TSS pages.
    [X86.KVM_IDENTITY_MAP_START - 0x4000, /KVM's identity-map page/],
  ];
  for (const [addr, what] of targets) {
    m.lines.length = 0;
    m.a.moveTo(addr);
    assert.equal(m.mmio.overlapping(addr, VIRTIO_BAR.SIZE), undefined, `nothing on the bus at 0x${addr.toString(16)}`);
    assert.deepEqual([...m.vm.live.keys()], [m.notifyAt(B)], `no ioeventfd at 0x${addr.toString(16)}`);
    assert.match(m.lines.join('\n'), what);
  }
  m.a.moveTo(0xd000_0000);
  assert.equal(m.numQueuesAt(0xd000_0000), 1, 'a free address decodes');
});

test('a BAR waiting for a range is decoded as soon as the device in its way moves off it', () => {
  const m = machine([X86_RAM, ...x86_64Machine.reservedRanges], A, B);
  m.a.moveTo(B);
  assert.equal(m.numQueuesAt(B), 1);
  m.b.moveTo(0xc002_0000);
  assert.deepEqual(new Map(m.vm.live), new Map([[m.notifyAt(B), KICK_FD(1)], [m.notifyAt(0xc002_0000), KICK_FD(2)]]), 'A took the range B left');
  assert.equal(m.numQueuesAt(0xc002_0000), 1);
  assert.equal(m.numQueuesAt(B), 1);
  // Memory decoding off (COMMAND.MEMORY clear) is "not decoded" too, and frees the range.
  m.a.t.configWrite(PCI_REG.COMMAND, 2, 0);
  assert.equal(m.numQueuesAt(B), 0xffff);
  assert.deepEqual([...m.vm.live.keys()], [m.notifyAt(0xc002_0000)]);
});

test('aarch64: the UART, ECAM (on the MMIO bus), the GIC and RAM are never covered by a BAR', () => {
  const arm = createAarch64Machine();
  const ram: AddressRange = { start: ARM.RAM_START, end: ARM.RAM_START + (256 << 20), name: 'guest RAM' };
  const A64 = ARM.PCI_MMIO32_START;
  const B64 = ARM.PCI_MMIO32_START + 0x1_0000;
  const m = machine([ram, ...arm.reservedRanges], A64, B64, [[ARM.UART_START, ARM.UART_SIZE], [ARM.PCI_ECAM_START, ARM.PCI_ECAM_SIZE]]);
  const targets: Array<[number, RegExp]> = [
    [ARM.UART_START, /a device on the MMIO bus \(0x9000000-0x9000fff\)/],
    [ARM.PCI_ECAM_START + 0x8000, /a device on the MMIO bus \(0x10000000-0x100fffff\)/],
    [ARM.GIC_DIST_START, /the GIC distributor/],
    [ARM.GIC_CPU_START, /the GIC CPU interface/],
    [ARM.GIC_REDIST_START + 0x10_0000, /the GIC redistributors/],
    [ARM.RAM_START + 0x20_0000, /guest RAM/],
    [B64, /PCI slot 2 BAR 0/],
  ];
  for (const [addr, what] of targets) {
    m.lines.length = 0;
    m.a.moveTo(addr);
    assert.deepEqual([...m.vm.live.keys()], [m.notifyAt(B64)], `no ioeventfd for A at 0x${addr.toString(16)}`);
    assert.match(m.lines.join('\n'), what);
  }
  assert.equal(m.mmio.read(ARM.UART_START, 1), 0x5a, 'the UART still answers');
  m.a.moveTo(A64);
  assert.equal(m.numQueuesAt(A64), 1);
});

test('a mapping that fails halfway (KVM refuses an ioeventfd) is undone: nothing stays on the bus, the BAR is not decoded', () => {
  const m = machine([X86_RAM, ...x86_64Machine.reservedRanges], A, B);
  const target = 0xd000_0000;
  m.vm.live.set(m.notifyAt(target), 999); // some ioeventfd KVM already has there
  m.lines.length = 0;
  m.a.moveTo(target);
  assert.equal(m.mmio.overlapping(target, VIRTIO_BAR.SIZE), undefined, 'the MMIO range was taken back');
  assert.equal(m.numQueuesAt(target), 0xffff);
  assert.match(m.lines.join('\n'), /PCI slot 1 BAR 0 at 0xd0000000: cannot decode it: EEXIST/);
  m.vm.live.delete(m.notifyAt(target));
  m.a.moveTo(A);
  assert.equal(m.numQueuesAt(A), 1, 'and it decodes where it can');
});
