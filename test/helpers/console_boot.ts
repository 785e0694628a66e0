// Boots a guest through bin/tsvmm and drives its console like a user: wait
// for a pattern in the output, then type something (or run a check). Shared
// by the full-boot tests (test/boot/) and the arm64 tests (test/arm64/).
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { TSVMM } from './tsvmm.js';

export interface ConsoleStep {
  /**
   * Wait for this in the console output, the guest's stdout alone (searched
   * after the previous step's match): tsvmm's lines come on stderr, a pipe of
   * their own, and merged they could land inside what a step waits for...
   */
  expect: RegExp;
  /** ...then type a string, or run a function given the supervisor's pid and a way to type. */
  then?: string | ((pid: number, type: (s: string) => void) => void);
}

export interface BootRun {
  code: number | null;
  /** stdout and stderr, interleaved as they came. */
  out: string;
  seconds: number;
  /** Seconds from the start to each step's match. */
  marks: number[];
}

export interface BootOptions {
  /** Run tsvmm inside this network namespace (ip netns exec). */
  netns?: string;
  /** Kill the VMM (its whole process group) after this long; default 10 minutes. */
  timeoutMs?: number;
}

/**
 * Runs bin/tsvmm with `args` and plays `steps` against its console. tsvmm
 * runs in its own process group, so a hung boot is killed whole (supervisor
 * and VMM). TSVMM_BOOT_LOG=FILE appends every boot's console to FILE.
 */
export function bootWithConsole(args: string[], steps: ConsoleStep[], opts: BootOptions = {}): Promise<BootRun> {
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const cmd = opts.netns === undefined ? [process.execPath, TSVMM, ...args] : ['ip', 'netns', 'exec', opts.netns, process.execPath, TSVMM, ...args];
  const vm = spawn(cmd[0]!, cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const log = process.env['TSVMM_BOOT_LOG'];
  let out = '';
  let guestOut = '';
  let at = 0;
  let next = 0;
  const marks: number[] = [];
  const killAll = (why: string): void => {
    out += `\n[test: ${why}; killing the VMM]\n`;
    try {
      process.kill(-vm.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const advance = (): void => {
    while (next < steps.length) {
      const s = steps[next]!;
      const m = s.expect.exec(guestOut.slice(at));
      if (!m) return;
      at += m.index + m[0].length;
      marks.push((Date.now() - t0) / 1000);
      next++;
      try {
        if (typeof s.then === 'string') vm.stdin.write(s.then);
        else if (s.then) s.then(vm.pid!, (t) => vm.stdin.write(t));
      } catch (err) {
        killAll(`step ${next} failed: ${(err as Error).message}`);
      }
    }
  };
  vm.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    guestOut += d.toString();
    if (log) appendFileSync(log, d);
    advance();
  });
  vm.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => killAll(`no exit within ${timeoutMs / 1000} s`), timeoutMs);
  return new Promise((resolve) => {
    vm.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, seconds: (Date.now() - t0) / 1000, marks });
    });
  });
}

/** Asserts that `patterns` match in this order, each after the previous one's match. */
export function inOrder(out: string, patterns: RegExp[]): void {
  let at = 0;
  for (const p of patterns) {
    const m = p.exec(out.slice(at));
    assert.ok(m, `expected ${p} after offset ${at}; output tail:\n${out.slice(-3000)}`);
    at += m.index + m[0].length;
  }
}
