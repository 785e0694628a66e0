// What the Firecracker API server drives: the VM, behind an interface. The
// server never touches KVM; the CLI gives it a controller that boots the VMM
// (in tsvmm, a child process that receives its VmConfig over IPC) and tests
// give it a fake that records calls.

import type { VmConfig } from '../../vmm/config.js';

/** Firecracker's InstanceInfo.state values (GET /). */
export type InstanceState = 'Not started' | 'Running' | 'Paused';

export interface VmController {
  readonly state: InstanceState;
  /** Boots the VM; resolves once the guest runs. Rejects with an Error whose message is one line (the CLI's message). */
  start(config: VmConfig): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Rejects with a one-line reason where the guest cannot receive it. */
  sendCtrlAltDel(): Promise<void>;
  flushMetrics(): Promise<void>;
}
