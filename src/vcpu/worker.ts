// The vCPU worker thread: builds the platform (the devices the vCPU talks
// to live on this thread, so an exit never waits for another thread), then
// loops on KVM_RUN. It reports how the guest ended with one message.
import { parentPort, workerData } from 'node:worker_threads';
import { createWorkerLog } from '../devices/worker_log.js';
import { VcpuFd } from '../kvm/vcpu.js';
import { createPlatform } from '../platform/platform.js';
import type { VcpuWorkerData, VcpuWorkerMessage } from './protocol.js';
import { runVcpu, type VcpuStop } from './run_loop.js';

async function main(d: VcpuWorkerData, post: (m: VcpuWorkerMessage) => void): Promise<VcpuStop> {
  // The devices log what the guest makes them do: rate-limited, and bounded on the way to the main thread.
  const platform = await createPlatform(d.platform, createWorkerLog(d.log, (line) => post({ kind: 'log', line })));
  const vcpu = new VcpuFd(d.vcpuFd, d.mmapSize);
  // Everything is set up: let the main thread install seccomp (TSYNC covers
  // this thread too) and switch the terminal, then run the guest.
  post({ kind: 'ready' });
  Atomics.wait(d.go, 0, 0);
  const result = runVcpu(vcpu, platform.pio, platform.mmio, {
    afterExit: platform.afterExit,
    stopRequest: platform.stopRequest,
    describeFailure: () => platform.arch.describeVcpu(d.vcpuFd),
  });
  platform.afterExit();
  return result;
}

if (parentPort) {
  const post = (m: VcpuWorkerMessage): void => parentPort!.postMessage(m);
  let msg: VcpuWorkerMessage;
  try {
    msg = { kind: 'stopped', stop: await main(workerData as VcpuWorkerData, post) };
  } catch (err) {
    msg = { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  post(msg);
}
