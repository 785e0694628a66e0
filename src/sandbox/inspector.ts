// Node's inspector and the seccomp filter. SIGUSR1 makes Node start its
// inspector (inspector_agent.cc), which opens a listening TCP socket: under
// the filter that socket() is a violation, the VMM dies of SIGSYS and the
// supervisor blames the allowlist, although nothing in the VMM went wrong.
// A sealed VMM must not start one. A JS listener for SIGUSR1 replaces Node's
// trigger (libuv installs its own handler for the signal), so installing one
// before the seal keeps the inspector closed; the listener costs nothing but
// a pipe libuv creates right away, before the seal.
import { url as inspectorUrl } from 'node:inspector';
import { TsvmmError } from '../base/errors.js';

export class InspectorOpenError extends TsvmmError {
  constructor(url: string) {
    super(`seccomp: refusing to seal: Node's inspector is listening (${url}); its socket would be killed by the filter`);
  }
}

/**
 * From now on SIGUSR1 starts no inspector; the first one is reported with one
 * line through `log`, later ones silently. Call before the seal (the first
 * signal listener makes libuv create its signal pipe).
 */
export function keepInspectorClosed(log: (line: string) => void): void {
  let said = false;
  process.on('SIGUSR1', () => {
    if (said) return;
    said = true;
    log('SIGUSR1 ignored: a VMM under seccomp does not start the Node.js inspector');
  });
}

/** Throws InspectorOpenError if the inspector already runs (--inspect, or a SIGUSR1 before keepInspectorClosed). */
export function refuseOpenInspector(): void {
  const url = inspectorUrl();
  if (url !== undefined) throw new InspectorOpenError(url);
}
