// The generic run loop on arm64 exits: a kvm_run page laid out as the arm64
// headers say (uapi_arm64.test.ts checks the offsets against them) carries
// UART accesses on the MMIO bus and PSCI SYSTEM_OFF / SYSTEM_RESET, which KVM
// reports as KVM_EXIT_SYSTEM_EVENT when the vCPU has KVM_ARM_VCPU_PSCI_0_2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runVcpu } from '../../vcpu/run_loop.js';
import { VcpuFd } from '../../kvm/vcpu.js';
import { KVM_EXIT, KVM_SYSTEM_EVENT } from '../../kvm/generated/uapi.js';
import { KVM_RUN_OFFSET as R } from '../../kvm/generated/kvm_run.js';
import { Bus } from '../../bus/bus.js';
import { GuestMemory } from '../../memory/guest_memory.js';
import type { VmFd } from '../../kvm/vm.js';
import { UART_LSR, UART_REG } from '../../devices/legacy/serial_reg.js';
import { createAarch64 } from './index.js';
import { FakeKvm } from './fake_kvm.fixture.js';
import { LAYOUT } from './layout.js';

type Exit = { mmio: { addr: number; write: boolean; value: number } } | { systemEvent: number };

/** A VcpuFd over a plain buffer whose run() replays `exits`. */
function scriptedVcpu(exits: Exit[], reads: number[]): VcpuFd {
  const page = new ArrayBuffer(4096);
  const v = Object.create(VcpuFd.prototype) as VcpuFd;
  Object.assign(v, { fd: -1, run_: page, view: new DataView(page), bytes: new Uint8Array(page) });
  let pendingRead = false;
  v.run = (): number => {
    if (pendingRead) reads.push(v.view.getUint8(R.mmio_data));
    const e = exits.shift();
    if (e === undefined) throw new Error('the script ran out');
    if ('mmio' in e) {
      v.view.setUint32(R.mmio_phys_addr, e.mmio.addr, true);
      v.view.setUint32(R.mmio_phys_addr + 4, 0, true);
      v.view.setUint32(R.mmio_len, 1, true);
      v.view.setUint8(R.mmio_is_write, e.mmio.write ? 1 : 0);
      v.view.setUint8(R.mmio_data, e.mmio.value);
      pendingRead = !e.mmio.write;
      return KVM_EXIT.MMIO;
    }
    v.view.setUint32(R.system_event_type, e.systemEvent, true);
    v.view.setUint32(R.system_event_ndata, 1, true);
    return KVM_EXIT.SYSTEM_EVENT;
  };
  return v;
}

function board(): { mmio: Bus; out: number[] } {
  const arch = createAarch64(new FakeKvm());
  const mmio = new Bus('MMIO');
  const out: number[] = [];
  arch.createLegacyDevices({
    vm: { irqLine: () => undefined } as unknown as VmFd,
    memory: new GuestMemory([]),
    pio: new Bus('port I/O'),
    mmio,
    console: { input: { available: () => 0, take: () => 0 }, output: (b) => out.push(b), rxInterruptEnabled: () => undefined },
    requestStop: () => undefined,
  });
  return { mmio, out };
}

const hooks = { afterExit: () => undefined, checkpoint: () => undefined, interrupted: () => undefined, describeFailure: () => 'PC 0x0' };

test('console output over MMIO, then PSCI SYSTEM_OFF ends the run as a power-off', () => {
  const { mmio, out } = board();
  const reads: number[] = [];
  const exits: Exit[] = [
    { mmio: { addr: LAYOUT.UART_START + UART_REG.LSR, write: false, value: 0 } },
    { mmio: { addr: LAYOUT.UART_START + UART_REG.TX, write: true, value: 0x68 } },
    { mmio: { addr: LAYOUT.UART_START + UART_REG.TX, write: true, value: 0x69 } },
    { systemEvent: KVM_SYSTEM_EVENT.SHUTDOWN },
  ];
  const stop = runVcpu(scriptedVcpu(exits, reads), new Bus('port I/O'), mmio, hooks);
  assert.deepEqual(stop, { code: 0, reason: 'the guest powered off' });
  assert.equal(new TextDecoder().decode(new Uint8Array(out)), 'hi');
  assert.equal(reads[0]! & UART_LSR.THRE, UART_LSR.THRE, 'the LSR read came back through the kvm_run page');
});

test('PSCI SYSTEM_RESET (panic=1 after a panic) ends the run as a reboot', () => {
  const stop = runVcpu(scriptedVcpu([{ systemEvent: KVM_SYSTEM_EVENT.RESET }], []), new Bus('port I/O'), board().mmio, hooks);
  assert.deepEqual(stop, { code: 0, reason: 'the guest rebooted' });
});
