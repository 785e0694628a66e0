// Cold against warm, in a guest: what the first operations a device serves
// after boot cost, beside the same operations once the device is warm, in
// guest TSC cycles per operation, each in a fresh tsvmm.
//
//   node dist/bench/cold.js [--runs N] [--rings split,packed] [--frames N] [--requests N] [--json]
//
//   net TX   test/guests/netbench.c (bench.mode=tx) sends --frames (2000)
//            1514-byte frames from boot ("first"), the same count after 3 s
//            of warm-up frames ("warm"), and 10x the count from boot (the
//            "the same, 20,000 frames" row of the issue that asked for this).
//            The TAP is up in a network namespace of its own; the host stack
//            drops the frames. The guest polls and kicks only when asked.
//   blk      test/guests/blkbench.c 4 KiB random reads at QD1 (its first
//            workload): --requests (1000) from boot (bench.warmup_ops=0),
//            and the same count after 20x as many unreported ones ("warm").
//
// Cycles come from the guest's TSC (rdtsc at CPL3), from its first measured
// operation to its last completion; "first / warm" is the ratio of cycles
// per operation. Median of --runs (3) fresh VMs per cell.
//
// Where /dev/kvm (TSVMM_KVM_DEVICE) is missing, everything runs inside one
// test-host session (scripts/testhost/); TSVMM_TESTHOST=0 forbids that.
// Needs root (a network namespace and a TAP), `npm run build` and gcc.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchMain, cpuName, detectTscHz, ensureGuestsBuilt, GUEST_DIR, kernelRelease, makeUsage, measure, median, parseOptions, ringList, ROOT, runCapture, say, str, table, wholeNumber, type RingName } from './common.js';
import { warmCache, writeImage } from './blk.js';

const usage = makeUsage('bench/cold', 'usage: node dist/bench/cold.js [--runs N] [--rings split,packed] [--frames N] [--requests N] [--json]');
const NS = 'tsvmmcold';
const TAP = 'tsvmmc0';
const FRAME = 1514;
const WARMUP_SECS = 3;

interface Options {
  runs: number;
  rings: RingName[];
  frames: number;
  requests: number;
  json: boolean;
  inner: boolean;
}

function parseCli(argv: string[]): Options {
  const v = parseOptions(argv, { runs: { type: 'string' }, rings: { type: 'string' }, frames: { type: 'string' }, requests: { type: 'string' } }, usage);
  const num = (name: string, dflt: number): number => (str(v, name) === undefined ? dflt : wholeNumber(usage, name, str(v, name)!));
  const o = { runs: num('runs', 3), rings: ringList(usage, str(v, 'rings') ?? 'split,packed'), frames: num('frames', 2000), requests: num('requests', 1000), json: v.json === true, inner: v.inner === true };
  if (o.runs < 1 || o.frames < 1 || o.requests < 1) usage('--runs, --frames and --requests must be at least 1');
  return o;
}

interface Cell {
  workload: string;
  ring: RingName;
  phase: 'first' | 'warm' | 'first x10';
  ops: number;
  /** Cycles per operation, one per run. */
  cycles: number[];
  kicks: number[];
}

interface Report {
  date: string;
  where: string;
  cpu: string;
  kernel: string;
  tscHz: number;
  runs: number;
  cells: Cell[];
}

/** Boots one guest and returns its console output (rejects on failure; tsvmm's own lines are on stderr already). */
async function boot(args: string[], netns: boolean): Promise<string> {
  const tsvmm = [join(ROOT, 'bin', 'tsvmm'), ...args];
  const r = netns ? await runCapture('ip', ['netns', 'exec', NS, process.execPath, ...tsvmm]) : await runCapture(process.execPath, tsvmm);
  if (r.code !== 0 || /FAIL/.test(r.out)) throw new Error(`tsvmm ${args.join(' ')} failed (status ${r.code}):\n${r.out}`);
  return r.out;
}

/** ops, cycles and kicks of the BENCH line for `workload`. */
function benchLine(out: string, workload: string): { ops: number; cycles: number; kicks: number } {
  const m = new RegExp(`^BENCH ${workload} (?:frames|ops)=(\\d+) .*cycles=(\\d+).* kicks=(\\d+)`, 'm').exec(out);
  if (m === null) throw new Error(`no "BENCH ${workload}" line in:\n${out}`);
  return { ops: Number(m[1]), cycles: Number(m[2]), kicks: Number(m[3]) };
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

async function inner(o: Options, where: string): Promise<Report> {
  const tsc = detectTscHz();
  const cells: Cell[] = [];
  const cell = (workload: string, ring: RingName, phase: Cell['phase'], ops: number): Cell => {
    const c: Cell = { workload, ring, phase, ops, cycles: [], kicks: [] };
    cells.push(c);
    return c;
  };
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-cold-'));
  spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  try {
    ip('netns', 'add', NS);
    ip('-n', NS, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap');
    ip('-n', NS, 'link', 'set', TAP, 'up');
    const image = join(dir, 'disk.img');
    writeImage(image, 64);
    warmCache(image);
    for (const ring of o.rings) {
      const net = (phase: Cell['phase'], count: number, warmup: number): [Cell, string[]] => [
        cell('net TX 1514 B', ring, phase, count),
        ['-k', join(GUEST_DIR, 'build', 'netbench.elf'), '-m', '64M', '--net', `tap:${TAP}`, '--append', `bench.mode=tx bench.size=${FRAME} bench.ring=${ring} bench.count=${count} bench.warmup=${warmup} bench.tsc_hz=${tsc.hz}`],
      ];
      const blk = (phase: Cell['phase'], warmupOps: number): [Cell, string[]] => [
        cell('blk 4K rand read QD1', ring, phase, o.requests),
        ['-k', join(GUEST_DIR, 'build', 'blkbench.elf'), '-m', '64M', '-d', `${image},ro`, '--append', `bench.ring=${ring} bench.ops=${o.requests} bench.warmup_ops=${warmupOps} bench.tsc_hz=${tsc.hz}`],
      ];
      const plan = [net('first', o.frames, 0), net('warm', o.frames, WARMUP_SECS), net('first x10', 10 * o.frames, 0), blk('first', 0), blk('warm', 20 * o.requests)];
      for (let run = 1; run <= o.runs; run++) {
        for (const [c, args] of plan) {
          say(`${c.workload}, ${ring}, ${c.phase}: run ${run}/${o.runs}`);
          const isNet = c.workload.startsWith('net');
          const r = benchLine(await boot(args, isNet), isNet ? 'tx' : 'rand4k_qd1');
          if (r.ops !== c.ops) throw new Error(`${c.workload} ${c.phase}: the guest did ${r.ops} operations, not ${c.ops}`);
          c.cycles.push(r.cycles / r.ops);
          c.kicks.push(r.kicks / r.ops);
        }
      }
    }
  } finally {
    spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
  return { date: new Date().toISOString(), where, cpu: cpuName(), kernel: kernelRelease(), tscHz: tsc.hz, runs: o.runs, cells };
}

export function printReport(rep: Report): void {
  const lines = [
    `cold against warm in a guest (bench/cold.ts), ${rep.date}`,
    `where: ${rep.where}; ${rep.cpu}; kernel ${rep.kernel}`,
    `guest TSC cycles per operation (${(rep.tscHz / 1e6).toFixed(0)} MHz), median of ${rep.runs} fresh VMs; first: from boot; warm: after ${WARMUP_SECS} s of warm-up frames (net) or 20x as many unreported requests (blk)`,
    '',
  ];
  const rows = [['workload', 'ring', 'ops', 'first cyc/op', 'warm cyc/op', 'first / warm', 'x10 from boot cyc/op', 'kicks/op first', 'kicks/op warm']];
  const key = (c: Cell): string => `${c.workload}/${c.ring}`;
  for (const k of [...new Set(rep.cells.map(key))]) {
    const get = (phase: Cell['phase']): Cell | undefined => rep.cells.find((c) => key(c) === k && c.phase === phase);
    const first = get('first')!;
    const warm = get('warm')!;
    const x10 = get('first x10');
    const f = median(first.cycles);
    const w = median(warm.cycles);
    rows.push([first.workload, first.ring, String(first.ops), f.toFixed(0), w.toFixed(0), (f / w).toFixed(2), x10 ? median(x10.cycles).toFixed(0) : '-', median(first.kicks).toFixed(3), median(warm.kicks).toFixed(3)]);
  }
  lines.push(...table(rows, (c) => c >= 2));
  console.log(lines.join('\n'));
}

async function outer(o: Options): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  await ensureGuestsBuilt('dist', say);
  const innerArgs = [fileURLToPath(import.meta.url), '--inner', '--runs', String(o.runs), '--rings', o.rings.join(','), '--frames', String(o.frames), '--requests', String(o.requests)];
  const report = await measure((where) => inner(o, where), innerArgs);
  if (o.json) console.log(JSON.stringify(report, null, 2));
  else printReport(report);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await benchMain('bench/cold', parseCli(process.argv.slice(2)), inner, outer);
