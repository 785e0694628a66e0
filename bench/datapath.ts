// The KVM-free data-path benchmark: tsvmm's virtio device workers against a
// C program making the same system calls over the same rings.
//
//   node dist/bench/datapath.js [--workloads tx,rx,blk] [--rings split,packed] [--impls ts,c]
//        [--runs N] [--cold N] [--settle S] [--warm S] [--inflight N] [--size BYTES]
//        [--qsize N] [--event-idx] [--node-arg ARG]... [--json] | --print REPORT.json
//
// No vCPU, no VM exits: a C driver (bench/datapath.c, the guest's side)
// fills split or packed rings in guest RAM (a memfd, as the VMM's), kicks
// through the ioeventfd's eventfd and reads the irqfd's, while the device is
// either tsvmm's device worker thread (src/devices/virtio/worker.ts, the
// production path: poll, queue handlers, native calls) or the C reference
// device (bench/datapath.c device). Each case runs in a fresh process in a
// network namespace of its own (bench/datapath_case.ts), so "cold" is the
// first operations after the worker started, with nothing compiled.
//
//   tx    virtio-net TX: --inflight frames of --size bytes in flight, each
//         written to a TAP (one writev); the host stack drops them
//   rx    virtio-net RX: the driver sends frames into the TAP with AF_PACKET
//         (at most --window waiting); the device reads each into a receive
//         buffer (one readv)
//   blk   virtio-blk 4 KiB random reads at queue depth --qd (default 1) from an
//         image in the page cache (one preadv each)
//
// Figures per phase: cold = the first --cold operations (default 2000 for
// net, 1000 for blk) after the device started; warm = --warm seconds
// (default 2) after --settle seconds (default 1) more. ops/s is wall-clock
// rate at the driver; CPU/op is the device process's CPU time (every thread:
// JIT and GC included) per operation; kicks and irqs per operation are
// counted by the driver.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { native } from '../src/native/addon.js';
import { runCase, type CaseResult, type CaseSpec, type Impl, type PhaseResult, type Ring, type Workload } from './datapath_case.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const TAP = 'tsvmmdp0';
const USAGE =
  'usage: node dist/bench/datapath.js [--workloads tx,rx,blk] [--rings split,packed] [--impls ts,c] [--runs N] [--cold N] [--settle S] [--warm S]\n' +
  '         [--inflight N] [--qd N] [--size BYTES] [--qsize N] [--event-idx] [--node-arg ARG]... [--json] | --print REPORT.json';

interface Options {
  workloads: Workload[];
  rings: Ring[];
  impls: Impl[];
  runs: number;
  cold: number | undefined;
  settle: number;
  warm: number;
  inflight: number;
  qd: number;
  size: number;
  qsize: number;
  eventIdx: boolean;
  start: 'ready' | 'warm';
  nodeArgs: string[];
  json: boolean;
  print: string | undefined;
}

function usage(err?: string): never {
  if (err !== undefined) {
    console.error(`bench/datapath: ${err}\n${USAGE}`);
    process.exit(2);
  }
  console.log(USAGE);
  process.exit(0);
}

function list<T extends string>(v: string | undefined, def: string, allowed: readonly T[], name: string): T[] {
  const xs = (v ?? def).split(',').filter(Boolean);
  for (const x of xs) if (!(allowed as readonly string[]).includes(x)) usage(`--${name}: ${x} is not one of ${allowed.join(', ')}`);
  return xs as T[];
}

function number(v: string | undefined, def: number, name: string): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n < 0) usage(`--${name} ${v}: not a non-negative number`);
  return n;
}

function parseCli(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        workloads: { type: 'string' },
        rings: { type: 'string' },
        impls: { type: 'string' },
        runs: { type: 'string' },
        cold: { type: 'string' },
        settle: { type: 'string' },
        warm: { type: 'string' },
        inflight: { type: 'string' },
        qd: { type: 'string' },
        size: { type: 'string' },
        qsize: { type: 'string' },
        'event-idx': { type: 'boolean' },
        start: { type: 'string' },
        'node-arg': { type: 'string', multiple: true },
        json: { type: 'boolean' },
        print: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (values.help === true) usage();
  const o: Options = {
    workloads: list(values.workloads, 'tx,rx,blk', ['tx', 'rx', 'blk'] as const, 'workloads'),
    rings: list(values.rings, 'split,packed', ['split', 'packed'] as const, 'rings'),
    impls: list(values.impls, 'ts,c', ['ts', 'c'] as const, 'impls'),
    runs: Math.max(1, Math.round(number(values.runs, 3, 'runs'))),
    cold: values.cold === undefined ? undefined : Math.max(1, Math.round(number(values.cold, 0, 'cold'))),
    settle: number(values.settle, 1, 'settle'),
    warm: Math.max(0.2, number(values.warm, 2, 'warm')),
    inflight: Math.max(1, Math.round(number(values.inflight, 128, 'inflight'))),
    qd: Math.max(1, Math.round(number(values.qd, 1, 'qd'))),
    size: Math.round(number(values.size, 1514, 'size')),
    qsize: Math.round(number(values.qsize, 256, 'qsize')),
    eventIdx: values['event-idx'] === true,
    start: list(values.start, 'warm', ['ready', 'warm'] as const, 'start')[0] ?? 'warm',
    nodeArgs: values['node-arg'] ?? [],
    json: values.json === true,
    print: values.print,
  };
  if (o.size < 60 || o.size > 1514) usage(`--size ${o.size}: a frame of 60 to 1514 bytes`);
  if ((o.qsize & (o.qsize - 1)) !== 0 || o.qsize < 4 || o.qsize > 1024) usage(`--qsize ${o.qsize}: a power of two from 4 to 1024`);
  if (o.inflight > o.qsize || o.qd * 3 > o.qsize) usage('--inflight and 3 x --qd must fit the queue (--qsize)');
  return o;
}

// ---- the report ------------------------------------------------------------

interface Report {
  date: string;
  where: string;
  cpu: string;
  kernel: string;
  node: string;
  options: Omit<Options, 'print' | 'json'>;
  results: CaseResult[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const rate = (p: PhaseResult): number => p.ops / (p.ns / 1e9);
const cpuPerOp = (p: PhaseResult): number => p.cpuNs / p.ops / 1000;

function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1000) return Math.round(x).toString();
  return x.toFixed(digits);
}

function label(w: Workload, o: Report['options']): string {
  if (w === 'blk') return `blk 4K rand read QD${o.qd}`;
  return `${w === 'tx' ? 'net TX' : 'net RX'} ${o.size} B`;
}

function printReport(rep: Report): void {
  const o = rep.options;
  const lines: string[] = [];
  lines.push(`KVM-free data path (bench/datapath.ts), ${rep.date}`);
  lines.push(`where: ${rep.where}; ${rep.cpu}; kernel ${rep.kernel}; Node ${rep.node}`);
  lines.push(`median of ${o.runs} runs, each case a fresh process; ${o.eventIdx ? 'EVENT_IDX' : 'no EVENT_IDX (flags)'}; queue ${o.qsize}; net: ${o.inflight} buffers in flight`);
  lines.push('cold: the first operations after the device started (count in the row); warm: ' + `${o.warm} s after ${o.settle} s more`);
  lines.push('ops/s: at the driver (wall clock); CPU/op: the device process, all threads (us); kicks, irqs: per operation, counted by the driver');
  lines.push('');
  const rows: string[][] = [['workload', 'ring', 'phase', 'tsvmm ops/s', 'C ops/s', 'ratio', 'tsvmm CPU/op', 'C CPU/op', 'C/tsvmm CPU', 'kicks/op ts', 'irqs/op ts', 'kicks/op C', 'irqs/op C']];
  const notes: string[] = [];
  for (const w of o.workloads) {
    for (const ring of o.rings) {
      const pick = (impl: Impl): CaseResult[] => rep.results.filter((r) => r.spec.workload === w && r.spec.ring === ring && r.spec.impl === impl);
      const ts = pick('ts');
      const c = pick('c');
      for (const ph of ['cold', 'warm'] as const) {
        const m = (rs: CaseResult[], f: (p: PhaseResult) => number): number => median(rs.map((r) => f(r[ph])));
        const tsRate = m(ts, rate);
        const cRate = m(c, rate);
        const tsCpu = m(ts, cpuPerOp);
        const cCpu = m(c, cpuPerOp);
        const ops = ts[0]?.[ph].ops ?? c[0]?.[ph].ops ?? 0;
        rows.push([
          label(w, o),
          ring,
          ph === 'cold' ? `cold ${ops}` : 'warm',
          fmt(tsRate, 0),
          fmt(cRate, 0),
          fmt(tsRate / cRate, 3),
          fmt(tsCpu),
          fmt(cCpu),
          fmt(cCpu / tsCpu, 3),
          fmt(m(ts, (p) => p.kicks / p.ops), 3),
          fmt(m(ts, (p) => p.irqs / p.ops), 3),
          fmt(m(c, (p) => p.kicks / p.ops), 3),
          fmt(m(c, (p) => p.irqs / p.ops), 3),
        ]);
      }
      for (const r of [...ts, ...c]) {
        if (r.lost || r.bad) notes.push(`${w} ${ring} ${r.spec.impl}: ${r.lost} lost, ${r.bad} bad`);
        if (r.tapFrames !== undefined && r.tapFrames < r.cold.ops + r.warm.ops) notes.push(`${w} ${ring} ${r.spec.impl}: the TAP took ${r.tapFrames} frames, fewer than returned`);
      }
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  rows.forEach((r, j) => {
    lines.push(r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
    if (j === 0) lines.push(widths.map((n) => '-'.repeat(n)).join('  '));
  });
  lines.push('');
  lines.push(notes.length ? notes.map((n) => `note: ${n}`).join('\n') : 'every frame and block checked: none lost, none corrupted');
  console.log(lines.join('\n'));
}

// ---- the outer side ----------------------------------------------------------

function writeImage(path: string, bytes: number): void {
  const chunk = randomBytes(1 << 20);
  const fd = openSync(path, 'w');
  try {
    for (let off = 0; off < bytes; off += chunk.length) {
      for (let b = 0; b < chunk.length; b += 4096) {
        const blk = (off + b) / 4096;
        chunk.writeUInt32LE(blk >>> 0, b);
        chunk.writeUInt32LE(Math.floor(blk / 2 ** 32), b + 4);
      }
      writeSync(fd, chunk, 0, chunk.length, off);
    }
  } finally {
    closeSync(fd);
  }
}

function cpuName(): string {
  return /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown CPU';
}

async function runChild(ns: string, spec: CaseSpec, nodeArgs: string[]): Promise<CaseResult> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...nodeArgs, SELF, '--case', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let pending = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    pending += d.toString();
    let nl: number;
    // Anything else the case prints (V8 traces asked for with --node-arg) goes to stderr.
    while ((nl = pending.indexOf('\n')) >= 0) {
      const l = pending.slice(0, nl + 1);
      pending = pending.slice(nl + 1);
      if (!l.startsWith('DATAPATHJSON ')) process.stderr.write(l);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const line = out.split('\n').find((l) => l.startsWith('DATAPATHJSON '));
  if (code !== 0 || line === undefined) throw new Error(`case ${spec.workload} ${spec.ring} ${spec.impl} failed (status ${code}):\n${out}`);
  return JSON.parse(line.slice('DATAPATHJSON '.length)) as CaseResult;
}

async function outer(o: Options): Promise<void> {
  if (o.print !== undefined) {
    printReport(JSON.parse(readFileSync(o.print, 'utf8')) as Report);
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('needs root: a network namespace and a TAP');
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-datapath-'));
  const exe = join(dir, 'datapath');
  const ns = `tsvmmdp${process.pid}`;
  const say = (line: string): void => void process.stderr.write(`# ${line}\n`);
  try {
    const cc = spawnSync('gcc', ['-O2', '-Wall', '-o', exe, join(ROOT, 'bench', 'datapath.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc bench/datapath.c failed:\n${cc.stderr}`);
    const image = join(dir, 'disk.img');
    const imageSize = 64 << 20;
    if (o.workloads.includes('blk')) writeImage(image, imageSize);
    const ip = (...args: string[]): void => {
      const r = spawnSync('ip', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
    };
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    const results: CaseResult[] = [];
    for (let run = 0; run < o.runs; run++) {
      for (const workload of o.workloads) {
        for (const ring of o.rings) {
          for (const impl of o.impls) {
            const spec: CaseSpec = {
              workload,
              ring,
              impl,
              eventIdx: o.eventIdx,
              qsize: o.qsize,
              inflight: workload === 'blk' ? o.qd : workload === 'rx' ? o.qsize : o.inflight,
              size: o.size,
              cold: o.cold ?? (workload === 'blk' ? 1000 : 2000),
              start: o.start,
              settleSecs: o.settle,
              warmSecs: o.warm,
              exe,
              tap: TAP,
              image,
              imageSize,
            };
            say(`run ${run + 1}/${o.runs}: ${workload} ${ring} ${impl}`);
            const r = await runChild(ns, spec, o.nodeArgs);
            const s = (p: PhaseResult): string => `${fmt(rate(p), 0)} ops/s, ${fmt(cpuPerOp(p))} us CPU/op`;
            const w = r.spec.impl === 'ts' ? `; worker ready after ${r.readyMs?.toFixed(0)} ms, warm-up ${r.warmUpMs?.toFixed(0) ?? '(unfinished)'} ms` : '';
            say(`  cold ${s(r.cold)}; warm ${s(r.warm)}${w}`);
            results.push(r);
          }
        }
      }
    }
    const { print: _p, json: _j, ...options } = o;
    const report: Report = {
      date: new Date().toISOString(),
      where: 'this machine, no KVM (a C driver process and the device, over eventfds and a memfd)',
      cpu: cpuName(),
      kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
      node: process.version,
      options,
      results,
    };
    if (o.json) console.log(JSON.stringify(report, null, 2));
    else printReport(report);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--case') {
  try {
    const r = await runCase(JSON.parse(argv[1]!) as CaseSpec);
    process.stdout.write(`DATAPATHJSON ${JSON.stringify(r)}\n`, () => process.exit(0));
  } catch (err) {
    console.error(`bench/datapath case: ${err instanceof Error ? err.message : String(err)}`);
    native.exitGroup(1);
  }
} else {
  try {
    await outer(parseCli(argv));
  } catch (err) {
    console.error(`bench/datapath: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
