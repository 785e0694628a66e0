// Start-up time and memory of the VMM: how long `tsvmm -k echo.elf` takes
// from spawn to the guest's first line, how long it takes to exit once the
// guest stops, and what the VMM costs in memory beside the guest's RAM, for
// a few configurations (plain, --seccomp, a virtio-blk disk, 1 GiB of guest
// RAM, 4 vCPUs), beside bare Node.js processes doing the same dialogue on a
// pipe (print READY, exit on 'q') with as many worker threads as the VMM
// has (its vCPUs, a platform thread with several vCPUs, one per virtio
// device): the floor any Node-hosted VMM stands on.
//
//   node dist/bench/startup.js [--runs N] [--json]
//
// Memory is read from /proc while the guest waits for input: PSS (each page
// shared with other processes counted as its share) of the supervisor and of
// the VMM process, and of the VMM, the part in guest RAM mappings (the memfd
// `tsvmm-guest-ram`, mapped by several of its threads: PSS counts each page
// once). "VMM own" = VMM PSS minus guest RAM; "x node" and "+ node" compare
// it with the bare Node process of the same thread count.
//
// Where /dev/kvm (TSVMM_KVM_DEVICE) is missing, everything runs inside one
// test-host session (scripts/testhost/); TSVMM_TESTHOST=0 forbids that.
// Times there are those of a TCG-emulated CPU: read the ratios to bare Node.
//
// Needs: `npm run build` (dist/ and the native addon) and gcc for the guest.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchMain, cpuName, ensureGuestsBuilt, GUEST_DIR, kernelRelease, makeUsage, measure, median, parseOptions, ROOT, say, str, table, wholeNumber } from './common.js';

const GUEST = join(GUEST_DIR, 'build', 'echo.elf');
const usage = makeUsage('bench/startup', 'usage: node dist/bench/startup.js [--runs N] [--json]');

/** The bare-Node floor: start `workers` worker threads, then the same dialogue as the echo guest, on a pipe. */
function bareNode(workers: number): string {
  return (
    `const { Worker } = require('node:worker_threads'); let up = 0; const n = ${workers};` +
    "const ready = () => { process.stdout.write('READY\\n'); process.stdin.on('data', (d) => { if (d.includes(113)) { process.stdout.write('BYE\\n'); process.exit(0); } }); };" +
    "for (let i = 0; i < n; i++) new Worker(\"require('node:worker_threads').parentPort.postMessage(1); setInterval(() => {}, 1 << 30);\", { eval: true }).once('message', () => { if (++up === n) ready(); });" +
    'if (n === 0) ready();'
  );
}

interface Options {
  runs: number;
  json: boolean;
  inner: boolean;
}

function parseCli(argv: string[]): Options {
  const v = parseOptions(argv, { runs: { type: 'string' } }, usage);
  const runs = str(v, 'runs') === undefined ? 3 : wholeNumber(usage, 'runs', str(v, 'runs')!);
  if (runs < 1) usage('--runs must be at least 1');
  return { runs, json: v.json === true, inner: v.inner === true };
}

// ---- /proc -----------------------------------------------------------------

/** kB fields of /proc/PID/smaps_rollup (Rss, Pss, ...). */
function rollup(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').matchAll(/^(\w+):\s+(\d+) kB$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** PSS in kB of the mappings whose path contains `name`. */
function mappingPss(pid: number, name: string): number {
  let pss = 0;
  let inside = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inside = line.includes(name);
    else if (inside) {
      const m = /^Pss:\s+(\d+) kB$/.exec(line);
      if (m) pss += Number(m[1]);
    }
  }
  return pss;
}

function childPid(pid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

const threadsOf = (pid: number): number => Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

// ---- one run ---------------------------------------------------------------

interface Sample {
  readyMs: number;
  exitMs: number;
  /** The process spawned (the supervisor for tsvmm, the bare node process). */
  supervisorPss: number;
  supervisorRss: number;
  supervisorThreads: number;
  vmmPss?: number;
  vmmRss?: number;
  guestRamPss?: number;
  threads?: number;
  /** Start-up milestones (TSVMM_STARTUP_TRACE): "who event" -> ms after spawn. */
  marks?: Record<string, number>;
}

/**
 * Spawns `args`, times spawn -> "READY", samples memory, types "q", times
 * "q" -> exit. `vmm`: the process has a VMM child whose memory is split.
 */
function runOnce(args: string[], vmm: boolean): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const spawnedAt = performance.timeOrigin + performance.now();
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TSVMM_STARTUP_TRACE: '1' } });
    let out = '';
    let err = '';
    let readyNs = 0n;
    let quitAt = 0n;
    let mem: Omit<Sample, 'readyMs' | 'exitMs'> | undefined;
    const killer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (readyNs === 0n && out.includes('READY')) {
        readyNs = process.hrtime.bigint() - t0;
        // Let start-up finish settling (threads, JIT) before sampling.
        setTimeout(() => {
          try {
            const sup = rollup(child.pid!);
            const m: Omit<Sample, 'readyMs' | 'exitMs'> = { supervisorPss: sup.Pss!, supervisorRss: sup.Rss!, supervisorThreads: threadsOf(child.pid!) };
            const v = vmm ? childPid(child.pid!) : undefined;
            if (vmm && v === undefined) throw new Error('no VMM child process found');
            if (v !== undefined) {
              const r = rollup(v);
              Object.assign(m, { vmmPss: r.Pss, vmmRss: r.Rss, guestRamPss: mappingPss(v, 'tsvmm-guest-ram'), threads: threadsOf(v) });
            }
            mem = m;
          } catch (e) {
            child.kill('SIGKILL');
            reject(e as Error);
            return;
          }
          quitAt = process.hrtime.bigint();
          child.stdin.end('q');
        }, 500);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      const exitNs = process.hrtime.bigint() - quitAt;
      if (code !== 0 || !out.includes('BYE') || mem === undefined) {
        reject(new Error(`${args.slice(0, 4).join(' ')}... failed (status ${code}, signal ${signal}):\n${out.slice(-500)}\n${err.slice(-1000)}`));
        return;
      }
      const marks: Record<string, number> = {};
      for (const m of err.matchAll(/tsvmm-startup (\S+) (\S+) ([\d.]+)/g)) marks[`${m[1]} ${m[2]}`] ??= Number(m[3]) - spawnedAt;
      resolve({ readyMs: Number(readyNs) / 1e6, exitMs: Number(exitNs) / 1e6, ...mem, ...(Object.keys(marks).length > 0 ? { marks } : {}) });
    });
  });
}

type Summary = { [K in Exclude<keyof Sample, 'marks'>]: number } & { runs: number; readyMinMs: number; readyMaxMs: number; marks?: Record<string, number> };

/** Median of every numeric field over the runs (and of each milestone), and min/max of readyMs. */
function summarize(runs: Sample[]): Summary {
  const out: Record<string, unknown> = { runs: runs.length };
  for (const k of Object.keys(runs[0]!) as Array<keyof Sample>) if (k !== 'marks') out[k] = median(runs.map((r) => (r[k] as number | undefined) ?? NaN));
  out.readyMinMs = Math.min(...runs.map((r) => r.readyMs));
  out.readyMaxMs = Math.max(...runs.map((r) => r.readyMs));
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.marks ?? {})))];
  if (names.length > 0) out.marks = Object.fromEntries(names.map((n) => [n, median(runs.map((r) => r.marks?.[n] ?? NaN))]));
  return out as Summary;
}

interface Config {
  name: string;
  note: string;
  args: string[];
  vmm: boolean;
  /** Worker threads: of the bare Node process, or the bare row a tsvmm row compares with. */
  workers: number;
}

interface Result extends Summary {
  name: string;
  note: string;
  vmm: boolean;
  workers: number;
}

interface Report {
  date: string;
  where: string;
  cpu: string;
  node: string;
  kernel: string;
  runs: number;
  results: Result[];
}

// ---- the inner side: runs where KVM is ------------------------------------

async function inner(o: Options, where: string): Promise<Report> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-startup-'));
  try {
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, Buffer.alloc(1 << 20));
    const tsvmm = [join(ROOT, 'bin', 'tsvmm'), '-k', GUEST];
    const bare = (n: number): Config => ({ name: n === 0 ? 'bare node' : `bare node, ${n} worker${n > 1 ? 's' : ''}`, note: `node -e: ${n} worker threads, READY, exit on q`, args: ['-e', bareNode(n)], vmm: false, workers: n });
    const configs: Config[] = [
      bare(0),
      bare(1),
      bare(2),
      bare(5),
      { name: 'tsvmm -m 64M', note: 'supervisor + VMM process, one vCPU thread', args: [...tsvmm, '-m', '64M'], vmm: true, workers: 1 },
      { name: 'tsvmm -m 64M --seccomp', note: 'plus the filter, installed with TSYNC', args: [...tsvmm, '-m', '64M', '--seccomp'], vmm: true, workers: 1 },
      { name: 'tsvmm -m 64M -d disk', note: 'plus PCI and a virtio-blk device worker', args: [...tsvmm, '-m', '64M', '-d', disk], vmm: true, workers: 2 },
      { name: 'tsvmm -m 1G', note: 'guest RAM is populated as the guest touches it', args: [...tsvmm, '-m', '1G'], vmm: true, workers: 1 },
      { name: 'tsvmm -m 64M --cpus 4', note: 'four vCPU threads and the platform thread', args: [...tsvmm, '-m', '64M', '--cpus', '4'], vmm: true, workers: 5 },
    ];
    // Round-robin over the configurations, so that a drift (caches warming,
    // the host getting busier) spreads over all of them.
    const runs: Sample[][] = configs.map(() => []);
    for (let i = 0; i < o.runs; i++) {
      for (const [j, c] of configs.entries()) {
        say(`${c.name}: run ${i + 1}/${o.runs}`);
        runs[j]!.push(await runOnce(c.args, c.vmm));
      }
    }
    const results = configs.map((c, j) => ({ name: c.name, note: c.note, vmm: c.vmm, workers: c.workers, ...summarize(runs[j]!) }));
    return { date: new Date().toISOString(), where, cpu: cpuName(), node: process.version, kernel: kernelRelease(), runs: o.runs, results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the outer side: build, pick the place, print the table ---------------

async function outer(o: Options): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  await ensureGuestsBuilt('dist', say);
  const innerArgs = [fileURLToPath(import.meta.url), '--inner', '--runs', String(o.runs)];
  const report = await measure((where) => inner(o, where), innerArgs);
  if (o.json) console.log(JSON.stringify(report, null, 2));
  else printReport(report);
}

const mib = (kb: number | undefined): string => (kb === undefined || !Number.isFinite(kb) ? '-' : (kb / 1024).toFixed(1));
const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

export function printReport(rep: Report): void {
  const bareFor = (workers: number): Result | undefined => rep.results.find((r) => !r.vmm && r.workers === workers);
  const lines: string[] = [];
  lines.push(`VMM start-up and memory (bench/startup.ts), ${rep.date}`);
  lines.push(`where: ${rep.where}; ${rep.cpu}; kernel ${rep.kernel}; Node ${rep.node}`);
  lines.push(`median of ${rep.runs} runs; guest: test/guests/echo.c (prints READY at once, waits for input); memory sampled 0.5 s after READY`);
  lines.push('ready: spawn -> "READY" on stdout; exit: "q" typed -> process gone');
  lines.push('bare: the bare Node process with as many worker threads (tsvmm: vCPUs, the platform thread with several vCPUs, device workers); + bare: ready time minus its');
  lines.push('PSS in MiB; VMM own = VMM PSS - guest RAM PSS (the memfd tsvmm-guest-ram); + bare mem: VMM own minus the bare process\'s PSS');
  lines.push('');
  const rows: string[][] = [['configuration', 'ready ms', '(min-max)', 'bare', '+ bare ms', 'exit ms', 'supervisor', 'VMM own', '+ bare mem', 'guest RAM', 'total', 'threads']];
  for (const r of rep.results) {
    const b = r.vmm ? bareFor(r.workers) : undefined;
    const own = r.vmmPss === undefined || !Number.isFinite(r.vmmPss) ? undefined : r.vmmPss - (r.guestRamPss ?? 0);
    const total = r.supervisorPss + (Number.isFinite(r.vmmPss) ? (r.vmmPss ?? 0) : 0);
    rows.push([
      r.name,
      ms(r.readyMs),
      `${ms(r.readyMinMs)}-${ms(r.readyMaxMs)}`,
      b ? ms(b.readyMs) : '-',
      b ? ms(r.readyMs - b.readyMs) : '-',
      ms(r.exitMs),
      mib(r.supervisorPss),
      mib(own),
      b && own !== undefined ? mib(own - b.supervisorPss) : '-',
      mib(r.guestRamPss),
      mib(total),
      String(r.vmm ? r.threads : r.supervisorThreads),
    ]);
  }
  lines.push(...table(rows, (c) => c >= 1));
  lines.push('');
  for (const r of rep.results) lines.push(`${r.name}: ${r.note}`);
  // Where the time goes (TSVMM_STARTUP_TRACE milestones, ms after spawn, medians).
  const traced = rep.results.filter((r) => r.marks !== undefined);
  if (traced.length > 0) {
    lines.push('');
    lines.push('start-up milestones, ms after spawn (median): when each process started and loaded its modules, the VMM got its configuration, built the machine, started its threads, and let the vCPUs go');
    const events = [...new Set(traced.flatMap((r) => Object.keys(r.marks!)))].sort((a, b) => (traced[0]!.marks![a] ?? 0) - (traced[0]!.marks![b] ?? 0));
    const t: string[][] = [['milestone', ...traced.map((r) => r.name.replace(/^tsvmm /, ''))]];
    for (const e of events) t.push([e, ...traced.map((r) => (r.marks![e] === undefined || !Number.isFinite(r.marks![e]) ? '-' : ms(r.marks![e])))]);
    t.push(['READY on stdout', ...traced.map((r) => ms(r.readyMs))]);
    lines.push(...table(t, (c) => c >= 1));
  }
  console.log(lines.join('\n'));
}

// ---- main -------------------------------------------------------------------

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await benchMain('bench/startup', parseCli(process.argv.slice(2)), inner, outer);
