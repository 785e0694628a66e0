// What the benchmarks share: usage and progress lines, building their guest,
// choosing where the measured side runs (KVM here, else the test host),
// running a child whose progress lines are echoed, and facts about the CPU.
// Compiled with the rest (tsc: bench/**/*.ts -> dist/bench/), so the
// benchmarks run as `node dist/bench/<name>.js`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PVM_MODULE_DIR } from '../src/arch/x86_64/pvm.js';

/** The repository: two levels above dist/bench/. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const GUEST_DIR = join(ROOT, 'test', 'guests');

export type Say = (line: string) => void;

/** Progress on stderr, so stdout stays the table (or the JSON). */
export const say: Say = (line) => void process.stderr.write(`# ${line}\n`);

/**
 * Builds the test guests when any is missing or older than its sources,
 * through the tests' own helper (test/helpers/guests.ts) as compiled into
 * `dist` (a top-level directory of the repository).
 */
export async function ensureGuestsBuilt(dist: string, log: Say): Promise<void> {
  const helper = join(ROOT, dist, 'test', 'helpers', 'guests.js');
  if (!existsSync(helper)) throw new Error(`${dist}/test/helpers/guests.js is missing: run \`npm run build\` first`);
  const { buildGuestsIfStale } = (await import(pathToFileURL(helper).href)) as { buildGuestsIfStale: (onBuild: () => void) => string };
  buildGuestsIfStale(() => log('building the test guests (test/guests/build.sh)'));
}

/** Runs a child, collecting stdout; its lines (but BENCHJSON ones) are echoed on stderr as progress. */
export function runCapture(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      pending += d.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        if (!line.startsWith('BENCHJSON ')) process.stderr.write(`  | ${line}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The TSC frequency: dmesg's calibration, else /proc/cpuinfo's cpu MHz. */
export function detectTscHz(): { hz: number; source: string } {
  const d = spawnSync('dmesg', [], { encoding: 'utf8' });
  if (d.status === 0) {
    const refined = /tsc: Refined TSC clocksource calibration: ([\d.]+) MHz/.exec(d.stdout);
    if (refined) return { hz: Math.round(Number(refined[1]) * 1e6), source: 'dmesg, refined TSC calibration' };
    const detected = /tsc: Detected ([\d.]+) MHz processor/.exec(d.stdout);
    if (detected) return { hz: Math.round(Number(detected[1]) * 1e6), source: 'dmesg, detected TSC' };
  }
  const m = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  if (m) return { hz: Math.round(Number(m[1]) * 1e6), source: '/proc/cpuinfo cpu MHz' };
  throw new Error('cannot find the TSC frequency: pass --tsc-hz');
}

export function cpuName(): string {
  const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m?.[1]?.trim() ?? 'unknown CPU';
}

export function kernelRelease(): string {
  return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
}

/** usage(err?): prints `text`, exits 2 with `err` or 0 without. */
export type Usage = (err?: string) => never;

export function makeUsage(name: string, text: string): Usage {
  return (err?: string): never => {
    if (err !== undefined) {
      console.error(`${name}: ${err}\n${text}`);
      process.exit(2);
    }
    console.log(text);
    process.exit(0);
  };
}

/**
 * The report of the measured side: `runHere()` when this machine has KVM,
 * else `node innerArgs...` inside the x86 test host, whose one BENCHJSON line
 * is the report.
 */
export async function measure<R>(runHere: (where: string) => Promise<R>, innerArgs: string[]): Promise<R> {
  const kvmDevice = process.env.TSVMM_KVM_DEVICE || '/dev/kvm';
  if (existsSync(kvmDevice)) {
    // A nested PVM host runs the CPL3 bench guests natively but emulates their exits.
    const pvm = existsSync(PVM_MODULE_DIR) ? ' (nested PVM: CPL3 guest code runs natively, each exit costs tens of us)' : '';
    return runHere(`KVM on this machine${pvm}`);
  }
  if (process.env.TSVMM_TESTHOST === '0' || process.arch !== 'x64') throw new Error(`${kvmDevice} is absent and the test host is not available (TSVMM_TESTHOST=0 or not x64)`);
  say(`${kvmDevice} is absent: running the benchmark inside the test host (scripts/testhost); this takes a while`);
  const r = await runCapture(join(ROOT, 'scripts', 'testhost', 'run-in-kvm-host.sh'), ['--', process.execPath, ...innerArgs]);
  const line = r.out.split(/\r?\n/).find((l) => l.startsWith('BENCHJSON '));
  if (r.code !== 0 || line === undefined) throw new Error(`the test-host run failed (status ${r.code})`);
  return JSON.parse(line.slice('BENCHJSON '.length)) as R;
}

/** Values of string and boolean options, as node:util parseArgs gives them. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/**
 * The options in `argv` (node:util parseArgs, strict): `options` plus the
 * ones every benchmark has (--json, --inner, -h/--help). A bad or unknown
 * option is a usage error; --help prints the usage.
 */
export function parseOptions(argv: string[], options: NonNullable<ParseArgsConfig['options']>, usage: Usage): OptionValues {
  let values: OptionValues;
  try {
    ({ values } = parseArgs({ args: argv, options: { ...options, json: { type: 'boolean' }, inner: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    return usage(err instanceof Error ? err.message : String(err));
  }
  if (values.help === true) usage();
  return values;
}

/** A string option's value (undefined when absent). */
export function str(v: OptionValues, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

/** A non-negative number from option `name`'s value `v`, rounded; else a usage error. */
export function wholeNumber(usage: Usage, name: string, v: string): number {
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n < 0) usage(`--${name} ${v}: not a non-negative number`);
  return Math.round(n);
}

export type RingName = 'split' | 'packed';

/** A comma-separated list of split/packed. */
export function ringList(usage: Usage, v: string): RingName[] {
  const rings = v.split(',').filter(Boolean);
  for (const r of rings) if (r !== 'split' && r !== 'packed') usage(`--rings: ${r} is not split or packed`);
  return rings as RingName[];
}

export const TESTHOST_WHERE = 'test host (scripts/testhost: QEMU TCG VM, nested SVM, 1 vCPU)';

/**
 * Runs a benchmark: with --inner (how measure() runs it inside the test
 * host) the measured side, whose report is one BENCHJSON line; else the
 * outer side. An error is one line and exit status 1.
 */
export async function benchMain<O extends { inner: boolean }, R>(name: string, o: O, inner: (o: O, where: string) => Promise<R>, outer: (o: O) => Promise<void>): Promise<void> {
  try {
    if (o.inner) console.log(`BENCHJSON ${JSON.stringify(await inner(o, TESTHOST_WHERE))}`);
    else await outer(o);
  } catch (err) {
    console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

/** Prints rows as a table: the first row is the header; columns from `right` on are right-aligned. */
export function table(rows: readonly string[][], right: (column: number) => boolean): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const out: string[] = [];
  rows.forEach((r, i) => {
    out.push(r.map((cell, c) => (right(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  '));
    if (i === 0) out.push(widths.map((n) => '-'.repeat(n)).join('  '));
  });
  return out;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
