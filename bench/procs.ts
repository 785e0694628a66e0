// Child processes whose stdout lines a benchmark waits for (bench/net.ts):
// start one, wait for a line, wait for it to end, read `key=value` fields.
import { spawn, type ChildProcess } from 'node:child_process';
import { say } from './common.js';

export interface Proc {
  readonly child: ChildProcess;
  readonly label: string;
  stdout: string;
  stderr: string;
  readonly waiters: Array<{ re: RegExp; resolve: (line: string) => void; reject: (err: Error) => void }>;
  /** BENCH MARK lines: the guest's TSC and when the line arrived here. */
  readonly marks: Array<{ tsc: bigint; ns: bigint }>;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `key=value` pairs of a BENCH/NETH line; digits become numbers. */
export function fields(line: string): Record<string, number | undefined> & Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (const kv of line.trim().split(/\s+/)) {
    const eq = kv.indexOf('=');
    if (eq < 0) continue;
    const v = kv.slice(eq + 1);
    r[kv.slice(0, eq)] = /^\d+$/.test(v) ? Number(v) : v;
  }
  return r as Record<string, number | undefined> & Record<string, unknown>;
}

/** A child process whose stdout lines can be awaited. */
export function start(cmd: string, args: string[], label: string): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const waiters: Proc['waiters'] = [];
  const marks: Proc['marks'] = [];
  let pending = '';
  const p: Proc = {
    child,
    label,
    stdout: '',
    stderr: '',
    waiters,
    marks,
    done: new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        for (const w of waiters) w.reject(new Error(`${label} ended (status ${code}, signal ${signal}) before printing ${w.re}:\n${p.stdout}\n${p.stderr}`));
        waiters.length = 0;
        resolve({ code, signal });
      });
    }),
  };
  child.stdout!.on('data', (d: Buffer) => {
    const now = process.hrtime.bigint();
    p.stdout += d.toString();
    pending += d.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, '');
      pending = pending.slice(nl + 1);
      const m = /^BENCH MARK tsc=(\d+)/.exec(line);
      if (m) marks.push({ tsc: BigInt(m[1]!), ns: now });
      else if (/^(BENCH|NETH) /.test(line) || /FAIL:/.test(line)) say(`${label}: ${line}`);
      for (const w of [...waiters]) {
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (p.stderr += d.toString()));
  return p;
}

/** Resolves with the first stdout line matching `re`; rejects after `ms`. */
export function waitLine(p: Proc, re: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${p.label}: no line matching ${re} within ${ms / 1000} s:\n${p.stdout}\n${p.stderr}`)), ms);
    const w = {
      re,
      resolve: (line: string) => {
        clearTimeout(timer);
        resolve(line);
      },
      reject: (err: Error) => {
        clearTimeout(timer);
        reject(err);
      },
    };
    const seen = p.stdout.split(/\r?\n/).find((l) => re.test(l));
    if (seen !== undefined) w.resolve(seen);
    else p.waiters.push(w);
  });
}

/** Waits for the process to end (killing it after `ms`); throws on a non-zero status. */
export async function finish(p: Proc, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const timer = setTimeout(() => p.child.kill('SIGKILL'), ms);
  const r = await p.done;
  clearTimeout(timer);
  if (r.code !== 0) throw new Error(`${p.label} failed (status ${r.code}, signal ${r.signal}):\n${p.stdout.slice(-3000)}\n${p.stderr.slice(-3000)}`);
  return r;
}

export function lineOf(p: Proc, re: RegExp): ReturnType<typeof fields> {
  const line = p.stdout.split(/\r?\n/).find((l) => re.test(l));
  if (line === undefined) throw new Error(`${p.label}: no line matching ${re}:\n${p.stdout.slice(-3000)}\n${p.stderr.slice(-3000)}`);
  return fields(line);
}
