// Seals the running VMM with the seccomp allowlist (--seccomp). Called once,
// after every file is open, every worker thread is up and console input is
// being read, and before the guest runs. TSYNC puts every existing thread
// under the filter; the install refuses to return unless all of them are.
// Loaded only with --seccomp (before the seal: nothing loads after it), and
// right away: keepInspectorClosed is installed as soon as a seal is planned.
import type { ArchName } from '../arch/arch.js';
import { buildSeccompProgram, installSeccomp } from '../sandbox/index.js';
import { keepInspectorClosed, refuseOpenInspector } from '../sandbox/inspector.js';
import { refuseOpenIoUring } from '../sandbox/io_uring.js';
import { RUNTIME_IOCTLS } from '../sandbox/policy/runtime_ioctls.js';

export { keepInspectorClosed };

export function sealProcess(arch: ArchName, mode: 'kill' | 'log', log: (line: string) => void): void {
  // A ring made before now would run I/O the filter never sees (see io_uring.ts);
  // an inspector already listening would be killed at its first connection.
  refuseOpenIoUring();
  refuseOpenInspector();
  const program = buildSeccompProgram(arch, { ioctls: RUNTIME_IOCTLS, mode, pid: process.pid });
  installSeccomp(program.bytes);
  log(`seccomp: ${mode === 'log' ? 'logging (not enforcing)' : 'enforcing'} a ${program.instructions}-instruction ${arch} allowlist on every thread`);
}
