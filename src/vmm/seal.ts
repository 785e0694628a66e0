// Seals the running VMM with the seccomp allowlist (--seccomp). Called once,
// after every file is open, every worker thread is up and console input is
// being read, and before the guest runs. TSYNC puts every existing thread
// under the filter; the install refuses to return unless all of them are.
// Loaded only with --seccomp (before the seal: nothing loads after it).
import type { ArchName } from '../arch/arch.js';
import { buildSeccompProgram, installSeccomp } from '../sandbox/index.js';
import { RUNTIME_IOCTLS } from '../sandbox/policy/runtime_ioctls.js';

export function sealProcess(arch: ArchName, mode: 'kill' | 'log', log: (line: string) => void): void {
  const program = buildSeccompProgram(arch, { ioctls: RUNTIME_IOCTLS, mode, pid: process.pid });
  installSeccomp(program.bytes);
  log(`seccomp: ${mode === 'log' ? 'logging (not enforcing)' : 'enforcing'} a ${program.instructions}-instruction ${arch} allowlist on every thread`);
}
