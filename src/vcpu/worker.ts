// A vCPU worker thread: loops on KVM_RUN for one vCPU and dispatches its
// exits to the device side: its own platform (one vCPU: the devices live on
// this thread, so an exit never waits for another thread) or the platform
// thread's, through its exit mailbox slot (several vCPUs). It reports how
// the guest ended with one message.
import { parentPort, workerData } from 'node:worker_threads';
import type { GuestStop } from '../arch/arch.js';
import { hostArchName, loadMachineArch } from '../arch/index.js';
import type { AccessBus } from '../bus/bus.js';
import { createWorkerLog } from '../devices/worker_log.js';
import { VcpuFd } from '../kvm/vcpu.js';
import { native } from '../native/addon.js';
import { ACCESS_SPACE, RemoteBus } from '../platform/mailbox.js';
import { createPlatform } from '../platform/platform.js';
import { VcpuControl, VCPU_STATE } from './control.js';
import { consumeKick, prepareKickable } from './kick.js';
import { VCPU_STANDBY, type VcpuWorkerData, type VcpuWorkerMessage } from './protocol.js';
import { exitCounterRow } from './metrics.js';
import { runVcpu } from './run_loop.js';
import { startupMark } from '../native/startup_trace.js';

startupMark('vcpu', 'modules-loaded');

/** What the VMM asked for, as a stop of the loop (its code and reason are the VMM's, not the guest's). */
const STOPPED_BY_VMM: GuestStop = { code: 0, reason: 'stopped by the VMM' };

interface Devices {
  pio: AccessBus;
  mmio: AccessBus;
  afterExit(): void;
  stopRequest(): GuestStop | undefined;
  describe(vcpuFd: number): string;
}

async function devicesFor(d: VcpuWorkerData, log: (line: string) => void): Promise<Devices> {
  if (d.devices.kind === 'local') {
    const p = await createPlatform(d.devices.platform, log);
    return { pio: p.pio, mmio: p.mmio, afterExit: p.afterExit, stopRequest: p.stopRequest, describe: (fd) => p.arch.describeVcpu(fd) };
  }
  const arch = await loadMachineArch(d.devices.arch);
  return {
    pio: new RemoteBus(d.devices.mailbox, d.index, ACCESS_SPACE.PIO),
    mmio: new RemoteBus(d.devices.mailbox, d.index, ACCESS_SPACE.MMIO),
    afterExit: () => undefined,
    stopRequest: () => undefined,
    describe: (fd) => arch.describeVcpu(fd),
  };
}

async function main(d: VcpuWorkerData, post: (m: VcpuWorkerMessage) => void): Promise<GuestStop> {
  // The devices log what the guest makes them do: rate-limited, and bounded on the way to the main thread.
  const devices = await devicesFor(d, createWorkerLog(d.log, (line) => post({ kind: 'log', line })));
  startupMark('vcpu', 'devices-created');
  const vcpu = new VcpuFd(d.vcpuFd, d.mmapSize);
  const control = new VcpuControl(d.vcpuCount, d.control);
  prepareKickable(d.vcpuFd);
  // Everything is set up: let the main thread install seccomp (TSYNC covers
  // this thread too) and switch the terminal, then run the guest.
  post({ kind: 'ready', tid: native.gettid() });
  Atomics.wait(d.go, 0, 0);
  startupMark('vcpu', 'run');
  try {
    if (control.checkpoint(d.index)) return STOPPED_BY_VMM;
    return runVcpu(vcpu, devices.pio, devices.mmio, {
      afterExit: devices.afterExit,
      checkpoint: () => devices.stopRequest() ?? (control.checkpoint(d.index) ? STOPPED_BY_VMM : undefined),
      interrupted: consumeKick,
      describeFailure: () => devices.describe(d.vcpuFd),
    }, exitCounterRow(d.exits, d.index));
  } finally {
    devices.afterExit();
    control.report(d.index, VCPU_STATE.STOPPED);
  }
}

/** The data: workerData, or, for a worker started ahead (VCPU_STANDBY), its first message (the host's machine code loads meanwhile). */
async function dataOf(port: NonNullable<typeof parentPort>): Promise<VcpuWorkerData> {
  if (workerData !== VCPU_STANDBY) return workerData as VcpuWorkerData;
  const [d] = await Promise.all([new Promise<VcpuWorkerData>((resolve) => port.once('message', resolve)), loadMachineArch(hostArchName())]);
  return d;
}

if (parentPort) {
  const post = (m: VcpuWorkerMessage): void => parentPort!.postMessage(m);
  let msg: VcpuWorkerMessage;
  try {
    msg = { kind: 'stopped', stop: await main(await dataOf(parentPort), post) };
  } catch (err) {
    msg = { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  post(msg);
}
