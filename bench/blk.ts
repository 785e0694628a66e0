// virtio-blk benchmark: 4 KiB random-read IOPS at queue depth 1 and 32 and
// sequential 64 KiB throughput, measured by a CPL3 test guest
// (test/guests/blkbench.c) for the split and packed rings, beside the same
// workloads done with pread on the image directly on the host
// (bench/host_pread.ts), as a ratio guest/host; plus the notifications:
// the guest's kicks per request, and tsvmm's own counts (--metrics) of the
// kicks its device worker took and the interrupts it sent.
//
//   node dist/bench/blk.js [--secs N | --ops N] [--size MiB] [--rings split,packed]
//                          [--irq] [--tsc-hz HZ] [--json]
//
// --irq: the guest asks for interrupts (it still polls): the interrupts
// column then shows how the device batches them; without it the guest asks
// for none and the column must read 0.
//
// Where /dev/kvm (TSVMM_KVM_DEVICE) is missing, everything (image, host
// baseline, guests) runs inside one test-host session (scripts/testhost/),
// so both sides are measured in the same place; TSVMM_TESTHOST=0 forbids
// that. The image lives in that place's tmpdir and is read once before
// measuring, so both sides read from the page cache.
//
// Needs: `npm run build` (dist/ and the native addon) and gcc for the guest
// (built here by test/guests/build.sh when missing or stale).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { benchMain, cpuName, detectTscHz, ensureGuestsBuilt, GUEST_DIR, kernelRelease, makeUsage, measure, parseOptions, ringList, ROOT, say, str, table, wholeNumber, type RingName } from './common.js';
import type { HostResult } from './host_pread.js';

const GUEST = join(GUEST_DIR, 'build', 'blkbench.elf');
const BLOCK = 4096;
const WORKLOADS = [
  { name: 'rand4k_qd1', label: '4K random read, QD1', unit: 'IOPS' },
  { name: 'rand4k_qd32', label: '4K random read, QD32', unit: 'IOPS' },
  { name: 'seq64k_qd1', label: '64K sequential read, QD1', unit: 'MB/s' },
] as const;

interface Options {
  secs: number;
  ops: number;
  sizeMiB: number;
  rings: RingName[];
  irq: boolean;
  tscHz: number;
  json: boolean;
  inner: boolean;
}

const usage = makeUsage('bench/blk', 'usage: node dist/bench/blk.js [--secs N | --ops N] [--size MiB] [--rings split,packed] [--irq] [--tsc-hz HZ] [--json]');

function parseCli(argv: string[]): Options {
  const v = parseOptions(argv, { secs: { type: 'string' }, ops: { type: 'string' }, size: { type: 'string' }, rings: { type: 'string' }, irq: { type: 'boolean' }, 'tsc-hz': { type: 'string' } }, usage);
  const s = (k: string): string | undefined => str(v, k);
  return {
    secs: s('secs') === undefined ? 3 : Math.max(1, wholeNumber(usage, 'secs', s('secs')!)),
    ops: s('ops') === undefined ? 0 : wholeNumber(usage, 'ops', s('ops')!),
    sizeMiB: s('size') === undefined ? 256 : Math.max(1, wholeNumber(usage, 'size', s('size')!)),
    rings: ringList(usage, s('rings') ?? 'split,packed'),
    irq: v.irq === true,
    tscHz: s('tsc-hz') === undefined ? 0 : wholeNumber(usage, 'tsc-hz', s('tsc-hz')!),
    json: v.json === true,
    inner: v.inner === true,
  };
}

/** A guest workload's BENCH line. */
interface GuestResult {
  workload: string;
  ops: number;
  cycles: number;
  bytes: number;
  kicks: number;
}

interface RingRun {
  ring: RingName;
  qsize: number;
  features: string;
  wallNs: number;
  tscCheckHz: number;
  results: GuestResult[];
  /** tsvmm's counters for the disk at the end of the run (--metrics): kicks, interrupts, reads... */
  device: Record<string, number> | null;
}

interface Report {
  date: string;
  where: string;
  cpu: string;
  kernel: string;
  sizeMiB: number;
  imageDir: string;
  secs: number;
  ops: number;
  irq: boolean;
  tscHz: number;
  tscSource: string;
  host: { method: string; threadpool: number; results: HostResult[] };
  rings: RingRun[];
}

// ---- the outer side: build, pick the place, print the table ---------------

async function outer(o: Options): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  await ensureGuestsBuilt('dist', say);
  const innerArgs = [fileURLToPath(import.meta.url), '--inner', '--secs', String(o.secs), '--ops', String(o.ops), '--size', String(o.sizeMiB), '--rings', o.rings.join(','), '--tsc-hz', String(o.tscHz), ...(o.irq ? ['--irq'] : [])];
  const report = await measure((where) => inner(o, where), innerArgs);
  if (o.json) console.log(JSON.stringify(report, null, 2));
  else printReport(report);
}

function fmt(x: number, unit: string): string {
  if (!Number.isFinite(x)) return '-';
  if (unit === 'MB/s') return x >= 100 ? x.toFixed(0) : x.toFixed(1);
  return x >= 1000 ? Math.round(x).toString() : x.toFixed(1);
}

/** IOPS or MB/s (10^6 bytes/s) from ops, bytes and seconds. */
function rate(unit: string, r: { ops: number; bytes: number }, secs: number): number {
  return unit === 'MB/s' ? r.bytes / secs / 1e6 : r.ops / secs;
}

export function printReport(rep: Report): void {
  const lines: string[] = [];
  lines.push(`virtio-blk benchmark (bench/blk.ts), ${rep.date}`);
  lines.push(`where: ${rep.where}; ${rep.cpu}`);
  lines.push(`image: ${rep.sizeMiB} MiB in ${rep.imageDir} (page cache), ${rep.ops ? `${rep.ops} requests` : `${rep.secs} s`} per workload`);
  lines.push(`TSC: ${(rep.tscHz / 1e6).toFixed(3)} MHz (${rep.tscSource})` + rep.rings.map((g) => (g.tscCheckHz ? `; ${g.ring} run, guest TSC vs wall clock: ${(g.tscCheckHz / 1e6).toFixed(0)} MHz` : '')).join(''));
  const q32 = rep.host.results.find((r) => r.workload === 'rand4k_qd32');
  lines.push(`host baseline: ${rep.host.method}, one read at a time; QD32: the better of 32 fs.read() in flight on libuv's pool (${rep.host.threadpool} threads) and the one-at-a-time loop: ${q32?.how ?? '?'} won`);
  lines.push(`guest: polls the used ring and asks for ${rep.irq ? 'an interrupt after each completion (bench.irq=1)' : 'no interrupts'}; kicks/op: the guest's notifications per request`);
  lines.push('');
  const rows: string[][] = [['workload', 'ring', 'guest', 'host pread', 'guest/host', 'kicks/op']];
  for (const w of WORKLOADS) {
    const h = rep.host.results.find((r) => r.workload === w.name);
    const hostRate = h ? rate(w.unit, h, h.ns / 1e9) : NaN;
    for (const g of rep.rings) {
      const r = g.results.find((x) => x.workload === w.name);
      const guestRate = r ? rate(w.unit, r, r.cycles / rep.tscHz) : NaN;
      rows.push([w.label, g.ring, `${fmt(guestRate, w.unit)} ${w.unit}`, `${fmt(hostRate, w.unit)} ${w.unit}`, Number.isFinite(guestRate / hostRate) ? (guestRate / hostRate).toFixed(3) : '-', r ? (r.kicks / r.ops).toFixed(2) : '-']);
    }
  }
  lines.push(...table(rows, (c) => c >= 2));
  lines.push('');
  lines.push("tsvmm's counters over each whole run (--metrics; three workloads and their warm-ups):");
  const dev: string[][] = [['ring', 'requests', 'kicks taken', 'kicks/request', 'interrupts', 'interrupts/request']];
  for (const g of rep.rings) {
    const d = g.device;
    const reqs = d ? (d.reads ?? 0) + (d.writes ?? 0) + (d.flushes ?? 0) + (d.other_requests ?? 0) : NaN;
    dev.push([g.ring, d ? String(reqs) : '-', d ? String(d.kicks) : '-', d ? (d.kicks! / reqs).toFixed(3) : '-', d ? String(d.interrupts) : '-', d ? (d.interrupts! / reqs).toFixed(3) : '-']);
  }
  lines.push(...table(dev, (c) => c >= 1));
  console.log(lines.join('\n'));
}

// ---- the inner side: runs where KVM is ------------------------------------

/** Writes the image: every 4 KiB block starts with its number (u64 LE), the rest is random bytes. */
export function writeImage(path: string, sizeMiB: number): void {
  const chunk = randomBytes(1 << 20);
  const fd = openSync(path, 'w');
  try {
    for (let mib = 0; mib < sizeMiB; mib++) {
      for (let off = 0; off < chunk.length; off += BLOCK) {
        const blk = (mib * chunk.length + off) / BLOCK;
        chunk.writeUInt32LE(blk >>> 0, off);
        chunk.writeUInt32LE(Math.floor(blk / 2 ** 32), off + 4);
      }
      writeSync(fd, chunk, 0, chunk.length, mib * chunk.length);
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads the whole file once, so both sides start from the page cache. */
export function warmCache(path: string): void {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(1 << 20);
  try {
    for (let pos = 0; readSync(fd, buf, 0, buf.length, pos) > 0; pos += buf.length);
  } finally {
    closeSync(fd);
  }
}

function parseBench(text: string): GuestResult[] {
  const out: GuestResult[] = [];
  for (const m of text.matchAll(/^BENCH (\w+) ((?:\w+=\S+ ?)+)$/gm)) {
    if (m[1] === 'start' || m[1] === 'host' || m[1] === 'MARK') continue;
    const r: Record<string, number | string> = { workload: m[1]! };
    for (const kv of m[2]!.trim().split(' ')) {
      const [k, v] = kv.split('=') as [string, string];
      r[k] = /^\d+$/.test(v) ? Number(v) : v;
    }
    out.push(r as unknown as GuestResult);
  }
  return out;
}

interface Timed {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  marks: Array<{ tsc: bigint; ns: bigint }>;
}

/** Runs a command, timestamping stdout lines that start with BENCH MARK. */
function runTimed(cmd: string, args: string[], timeoutMs: number): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const marks: Timed['marks'] = [];
    child.stdout.on('data', (d: Buffer) => {
      const now = process.hrtime.bigint();
      stdout += d.toString();
      pending += d.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const m = /^BENCH MARK tsc=(\d+)/.exec(line);
        if (m) marks.push({ tsc: BigInt(m[1]!), ns: now });
        if (line.startsWith('BENCH ') && !line.startsWith('BENCH MARK')) say(line);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, marks });
    });
  });
}

/** The last snapshot's counters of device `name` in a --metrics file, or null. */
export function lastDeviceCounters(path: string, name: string): Record<string, number> | null {
  if (!existsSync(path)) return null;
  const lines = readFileSync(path, 'utf8').trim().split('\n').filter(Boolean);
  const last = lines[lines.length - 1];
  if (last === undefined) return null;
  const m = JSON.parse(last) as { devices?: Record<string, Record<string, number>> };
  return m.devices?.[name] ?? null;
}

async function inner(o: Options, where: string): Promise<Report> {
  const tsc = o.tscHz ? { hz: o.tscHz, source: '--tsc-hz' } : detectTscHz();
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-blkbench-'));
  const image = join(dir, 'disk.img');
  try {
    say(`writing a ${o.sizeMiB} MiB image in ${dir}`);
    writeImage(image, o.sizeMiB);
    warmCache(image);

    say('host baseline: bench/host_pread.ts');
    const limit = o.ops ? ['--ops', String(o.ops)] : ['--secs', String(o.secs)];
    const h = await runTimed(process.execPath, [join(ROOT, 'dist', 'bench', 'host_pread.js'), '--image', image, ...limit], 600000);
    if (h.code !== 0 || !/^BENCH DONE$/m.test(h.stdout)) throw new Error(`host_pread failed (status ${h.code}): ${h.stderr}${h.stdout}`);
    const hostStart = /^BENCH host start .* method=(.+) threadpool=(\d+)$/m.exec(h.stdout);
    const host = { method: hostStart?.[1] ?? '?', threadpool: Number(hostStart?.[2] ?? 4), results: parseBench(h.stdout) as unknown as HostResult[] };

    const rings: RingRun[] = [];
    for (const ring of o.rings) {
      say(`guest: blkbench, ${ring} ring`);
      warmCache(image);
      const metrics = join(dir, `metrics-${ring}.jsonl`);
      const append = `bench.ring=${ring} bench.secs=${o.secs} bench.tsc_hz=${tsc.hz}` + (o.ops ? ` bench.ops=${o.ops}` : '') + (o.irq ? ' bench.irq=1' : '');
      const t0 = process.hrtime.bigint();
      const g = await runTimed(process.execPath, [join(ROOT, 'bin', 'tsvmm'), '-k', GUEST, '-m', '64M', '-d', `${image},ro`, '--metrics', metrics, '--append', append], 900000);
      const wallNs = Number(process.hrtime.bigint() - t0);
      if (g.code !== 0 || /FAIL:/.test(g.stdout) || !/^BENCH DONE$/m.test(g.stdout)) throw new Error(`blkbench (${ring}) failed (status ${g.code}, signal ${g.signal}):\n${g.stdout}\n${g.stderr}`);
      const start = /^BENCH start ring=\S+ qsize=(\d+) capacity=(\d+) features=(0x[0-9a-f]+)/m.exec(g.stdout);
      // Cross-check of the TSC rate: guest TSC ticks between the two MARK
      // lines over the wall time between their arrival here.
      let tscCheckHz = 0;
      if (g.marks.length === 2) {
        const ns = Number(g.marks[1]!.ns - g.marks[0]!.ns);
        if (ns > 0) tscCheckHz = Number(g.marks[1]!.tsc - g.marks[0]!.tsc) / (ns / 1e9);
      }
      rings.push({ ring, qsize: Number(start?.[1] ?? 0), features: start?.[3] ?? '?', wallNs, tscCheckHz, results: parseBench(g.stdout), device: lastDeviceCounters(metrics, 'blk0') });
    }
    return { date: new Date().toISOString(), where, cpu: cpuName(), kernel: kernelRelease(), sizeMiB: o.sizeMiB, imageDir: tmpdir(), secs: o.secs, ops: o.ops, irq: o.irq, tscHz: tsc.hz, tscSource: tsc.source, host, rings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await benchMain('bench/blk', parseCli(process.argv.slice(2)), inner, outer);
