// Seals the running VMM with the seccomp allowlist (--seccomp). Called once,
// after every fd is open and every thread has started, before the guest runs.
import type { ArchName } from '../arch/arch.js';
import type { VmmHost } from './vmm.js';

export function sealProcess(arch: ArchName, mode: 'kill' | 'log', host: VmmHost): void {
  void arch;
  void mode;
  void host;
  throw new Error('--seccomp is not built yet');
}
