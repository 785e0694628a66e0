#!/usr/bin/env node
// Start-up time and memory of the VMM: how long `tsvmm -k echo.elf` takes
// from spawn to the guest's first line, how long it takes to exit once the
// guest stops, and what the VMM costs in memory beside the guest's RAM,
// for a few configurations (plain, --seccomp, a virtio-blk disk, 1 GiB of
// guest RAM), beside a bare Node.js process doing the same dialogue on a
// pipe (print READY, exit on 'q') as the floor any Node-hosted VMM stands on.
//
//   node bench/startup.mjs [--runs N] [--json]
//
// Memory is read from /proc while the guest waits for input: PSS (each page
// shared with other processes counted as its share) of the supervisor and of
// the VMM process, and of the VMM, the part in guest RAM mappings (the memfd
// `tsvmm-guest-ram`, mapped by several of its threads: PSS counts each page
// once). "VMM own" = VMM PSS minus guest RAM. The guest (test/guests/echo.c)
// touches only a few pages, so guest RAM resident also shows that RAM is
// populated lazily (-m 1G costs what the guest touches, not 1 GiB).
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
import { benchMain, cpuName, ensureGuestsBuilt, GUEST_DIR, makeUsage, measure, parseOptions, ROOT, say, wholeNumber } from './common.mjs';

const GUEST = join(GUEST_DIR, 'build', 'echo.elf');
const usage = makeUsage('bench/startup.mjs', 'usage: node bench/startup.mjs [--runs N] [--json]');

// The bare-Node floor: the same dialogue as the echo guest, on a pipe.
const BARE_NODE = "process.stdout.write('READY\\n'); process.stdin.on('data', (d) => { if (d.includes(113)) { process.stdout.write('BYE\\n'); process.exit(0); } });";

function parseCli(argv) {
  const v = parseOptions(argv, { runs: { type: 'string' } }, usage);
  const runs = v.runs === undefined ? 3 : wholeNumber(usage, 'runs', v.runs);
  if (runs < 1) usage('--runs must be at least 1');
  return { runs, json: v.json === true, inner: v.inner === true };
}

// ---- /proc -----------------------------------------------------------------

/** kB fields of /proc/PID/smaps_rollup (Rss, Pss, ...). */
function rollup(pid) {
  const out = {};
  for (const m of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').matchAll(/^(\w+):\s+(\d+) kB$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** PSS in kB of the mappings whose path contains `name`. */
function mappingPss(pid, name) {
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

function childPid(pid) {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

// ---- one run ---------------------------------------------------------------

/**
 * Spawns `args`, times spawn -> "READY", samples memory, types "q", times
 * "q" -> exit. `vmm`: the process has a VMM child whose memory is split.
 */
function runOnce(args, vmm) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let readyNs = 0n;
    let quitAt = 0n;
    let mem;
    const killer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.stderr.on('data', (d) => (err += d.toString()));
    child.stdout.on('data', (d) => {
      out += d.toString();
      if (readyNs === 0n && out.includes('READY')) {
        readyNs = process.hrtime.bigint() - t0;
        // Let start-up finish settling (threads, JIT) before sampling.
        setTimeout(() => {
          try {
            const sup = rollup(child.pid);
            mem = { supervisorPss: sup.Pss, supervisorRss: sup.Rss };
            const v = vmm ? childPid(child.pid) : undefined;
            if (vmm && v === undefined) throw new Error('no VMM child process found');
            if (v !== undefined) {
              const r = rollup(v);
              const ram = mappingPss(v, 'tsvmm-guest-ram');
              Object.assign(mem, { vmmPss: r.Pss, vmmRss: r.Rss, guestRamPss: ram, threads: Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${v}/status`, 'utf8'))?.[1]) });
            }
          } catch (e) {
            child.kill('SIGKILL');
            reject(e);
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
      if (code !== 0 || !out.includes('BYE') || !mem) {
        reject(new Error(`${args.slice(0, 4).join(' ')}... failed (status ${code}, signal ${signal}):\n${out.slice(-500)}\n${err.slice(-1000)}`));
        return;
      }
      resolve({ readyMs: Number(readyNs) / 1e6, exitMs: Number(exitNs) / 1e6, ...mem });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Median of every numeric field over the runs, and min/max of readyMs. */
function summarize(runs) {
  const out = { runs: runs.length };
  for (const k of Object.keys(runs[0])) out[k] = median(runs.map((r) => r[k]));
  out.readyMinMs = Math.min(...runs.map((r) => r.readyMs));
  out.readyMaxMs = Math.max(...runs.map((r) => r.readyMs));
  return out;
}

// ---- the inner side: runs where KVM is ------------------------------------

async function inner(o, where) {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-startup-'));
  try {
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, Buffer.alloc(1 << 20));
    const tsvmm = [join(ROOT, 'bin', 'tsvmm'), '-k', GUEST];
    const configs = [
      { name: 'bare node', note: 'node -e (READY, exit on q): the floor', args: ['-e', BARE_NODE], vmm: false },
      { name: 'tsvmm -m 64M', note: 'supervisor + VMM process, vCPU thread', args: [...tsvmm, '-m', '64M'], vmm: true },
      { name: 'tsvmm -m 64M --seccomp', note: 'plus the filter, installed with TSYNC', args: [...tsvmm, '-m', '64M', '--seccomp'], vmm: true },
      { name: 'tsvmm -m 64M -d disk', note: 'plus PCI and a virtio-blk device worker', args: [...tsvmm, '-m', '64M', '-d', disk], vmm: true },
      { name: 'tsvmm -m 1G', note: 'guest RAM is populated as the guest touches it', args: [...tsvmm, '-m', '1G'], vmm: true },
    ];
    // Round-robin over the configurations, so that a drift (caches warming,
    // the host getting busier) spreads over all of them.
    const runs = configs.map(() => []);
    for (let i = 0; i < o.runs; i++) {
      for (const [j, c] of configs.entries()) {
        say(`${c.name}: run ${i + 1}/${o.runs}`);
        runs[j].push(await runOnce(c.args, c.vmm));
      }
    }
    const results = configs.map((c, j) => ({ name: c.name, note: c.note, ...summarize(runs[j]) }));
    return { date: new Date().toISOString(), where, cpu: cpuName(), node: process.version, kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(), runs: o.runs, results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the outer side: build, pick the place, print the table ---------------

async function outer(o) {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  await ensureGuestsBuilt('dist', say);
  const innerArgs = [fileURLToPath(import.meta.url), '--inner', '--runs', String(o.runs)];
  const report = await measure((where) => inner(o, where), innerArgs);
  if (o.json) console.log(JSON.stringify(report, null, 2));
  else printReport(report);
}

const mib = (kb) => (kb === undefined ? '-' : (kb / 1024).toFixed(1));
const ms = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function printReport(rep) {
  const base = rep.results.find((r) => r.name === 'bare node');
  const lines = [];
  lines.push(`VMM start-up and memory (bench/startup.mjs), ${rep.date}`);
  lines.push(`where: ${rep.where}; ${rep.cpu}; kernel ${rep.kernel}; Node ${rep.node}`);
  lines.push(`median of ${rep.runs} runs; guest: test/guests/echo.c (prints READY at once, waits for input); memory sampled 0.5 s after READY`);
  lines.push('ready: spawn -> "READY" on stdout; exit: "q" typed -> process gone; x node: ready time over bare Node\'s');
  lines.push('PSS in MiB; VMM own = VMM PSS - guest RAM PSS (the memfd tsvmm-guest-ram)');
  lines.push('');
  const rows = [['configuration', 'ready ms', '(min-max)', 'x node', 'exit ms', 'supervisor', 'VMM own', 'guest RAM', 'total', 'threads']];
  for (const r of rep.results) {
    const own = r.vmmPss === undefined ? undefined : r.vmmPss - r.guestRamPss;
    const total = r.supervisorPss + (r.vmmPss ?? 0);
    rows.push([r.name, ms(r.readyMs), `${ms(r.readyMinMs)}-${ms(r.readyMaxMs)}`, (r.readyMs / base.readyMs).toFixed(2), ms(r.exitMs), mib(r.supervisorPss), mib(own), mib(r.guestRamPss), mib(total), r.threads === undefined ? '-' : String(r.threads)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  rows.forEach((row, j) => {
    lines.push(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
    if (j === 0) lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  });
  lines.push('');
  for (const r of rep.results) lines.push(`${r.name}: ${r.note}`);
  console.log(lines.join('\n'));
}

// ---- main -------------------------------------------------------------------

await benchMain('bench/startup.mjs', parseCli(process.argv.slice(2)), inner, outer);
