// Start-up milestones (a diagnostic kept with the lowest layer so every
// thread may use it), for bench/startup.ts: with TSVMM_STARTUP_TRACE=1 the
// supervisor, the VMM process and its threads each print a line per
// milestone on stderr, "tsvmm-startup <who> <event> <ms since the epoch>",
// so the benchmark can tell where spawn -> first console byte goes (process
// start-ups, module loading, KVM set-up, thread start-ups). Off, it costs a
// comparison.
const on = process.env.TSVMM_STARTUP_TRACE === '1';

/** Notes that `who` reached `event` now. */
export function startupMark(who: string, event: string): void {
  if (on) process.stderr.write(`tsvmm-startup ${who} ${event} ${(performance.timeOrigin + performance.now()).toFixed(2)}\n`);
}

/** Notes when this process started (Node's time origin) and that its modules are loaded. */
export function startupLoaded(who: string): void {
  if (!on) return;
  process.stderr.write(`tsvmm-startup ${who} process-start ${performance.timeOrigin.toFixed(2)}\n`);
  startupMark(who, 'modules-loaded');
}
