#!/usr/bin/env node
// virtio-net benchmark: packets per second and MB/s, guest -> host and
// host -> guest, with 64- and 1500-byte frames, measured with a CPL3 test
// guest (test/guests/netbench.c) on tsvmm's virtio-net over a TAP, beside a
// host-only baseline that moves the same frames through the same TAP with
// the same host tools (bench/net_helper.c), as a ratio guest/baseline.
//
//   node bench/net.mjs [--secs N] [--warmup N] [--sizes 64,1500] [--rings split,packed]
//                      [--window N] [--dist DIR] [--tsc-hz HZ] [--json]
//   node bench/net.mjs --print REPORT.json    the table of a saved --json report
//
//   guest -> host   guest: netbench floods its TX ring; tsvmm writes each
//                   frame into the TAP.  baseline: net_helper tap-write
//                   writes the frames into the TAP itself, as fast as it
//                   can.  Both counted by net_helper pkt-recv (an AF_PACKET
//                   ring on the TAP, kernel timestamps).
//   host -> guest   net_helper pkt-send sends into the TAP with AF_PACKET,
//                   keeping --window frames (default 256; 0: flood) waiting
//                   in the TAP's queue.  guest: tsvmm reads the TAP into
//                   netbench's RX ring.  baseline: net_helper tap-read
//                   reads the TAP itself.
//
// Every sender first sends --warmup seconds (default 20) of warm-up frames,
// which receivers check but do not count, then --secs seconds (default 3)
// of measured frames, then an end marker with the count.  Rates are the
// receiver's: frames after the first measured one over the time from the
// first to the last.  Every byte of every frame is checked on receipt;
// lost, corrupted and out-of-order frames are counted.
//
// Where /dev/kvm (TSVMM_KVM_DEVICE) is missing, everything runs inside one
// test-host session (scripts/testhost/); TSVMM_TESTHOST=0 forbids that.
// Needs root (a network namespace and a TAP), gcc, the compiled tree in
// --dist (default dist, from `npm run build`; any top-level directory of
// the repository compiled with `tsc --outDir DIR` works) and the native
// addon.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { benchMain, cpuName, detectTscHz, ensureGuestsBuilt, GUEST_DIR, makeUsage, measure, parseOptions, ringList, ROOT, say, wholeNumber } from './common.mjs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { randomInt } from 'node:crypto';

const GUEST = join(GUEST_DIR, 'build', 'netbench.elf');
const HELPER_SRC = join(ROOT, 'bench', 'net_helper.c');
const TAP = 'tsvmmb0';
const DIRECTIONS = [
  { name: 'g2h', label: 'guest -> host' },
  { name: 'h2g', label: 'host -> guest' },
];
/** Runs the tsvmm CLI from a compiled tree: argv = [node, main.js URL, ...tsvmm args]. */
const LAUNCH =
  'const { main } = await import(process.argv[1]);' +
  'main(process.argv.slice(2)).then((c) => { process.exitCode = c; },' +
  ' (e) => { process.stderr.write(`tsvmm: ${e instanceof Error ? e.message : String(e)}\\n`); process.exitCode = 1; });';

function parseCli(argv) {
  const v = parseOptions(argv, { secs: { type: 'string' }, warmup: { type: 'string' }, sizes: { type: 'string' }, rings: { type: 'string' }, window: { type: 'string' }, dist: { type: 'string' }, 'tsc-hz': { type: 'string' }, print: { type: 'string' } }, usage);
  const o = {
    secs: v.secs === undefined ? 3 : Math.max(1, wholeNumber(usage, 'secs', v.secs)),
    warmup: v.warmup === undefined ? 20 : wholeNumber(usage, 'warmup', v.warmup),
    sizes: (v.sizes ?? '64,1500').split(',').filter(Boolean).map((x) => wholeNumber(usage, 'sizes', x)),
    rings: ringList(usage, v.rings ?? 'split'),
    window: v.window === undefined ? 256 : wholeNumber(usage, 'window', v.window),
    dist: v.dist ?? 'dist',
    tscHz: v['tsc-hz'] === undefined ? 0 : wholeNumber(usage, 'tsc-hz', v['tsc-hz']),
    json: v.json === true,
    inner: v.inner === true,
    print: v.print,
  };
  for (const s of o.sizes) if (s < 60 || s > 1514) usage(`--sizes: ${s} is not a frame size from 60 to 1514`);
  // The addon is found relative to the compiled files (DIST/src/native/addon.js
  // -> ../../.., where build/ and prebuilds/ are), so DIST must be a top-level directory of the repository.
  const dist = resolve(ROOT, o.dist);
  const rel = relative(ROOT, dist);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.includes('/')) usage(`--dist ${o.dist}: must be a top-level directory of the repository`);
  o.dist = rel;
  return o;
}

const usage = makeUsage('bench/net.mjs', 'usage: node bench/net.mjs [--secs N] [--warmup N] [--sizes 64,1500] [--rings split,packed] [--window N] [--dist DIR] [--tsc-hz HZ] [--json] | --print REPORT.json');


// ---- the outer side: build, pick the place, print the table ---------------



async function outer(o) {
  if (o.print) {
    printReport(JSON.parse(readFileSync(o.print, 'utf8')));
    return;
  }
  if (!existsSync(join(ROOT, o.dist, 'src', 'cli', 'main.js'))) throw new Error(`${o.dist}/ is missing: run \`npm run build\` first (or tsc --outDir ${o.dist})`);
  try {
    createRequire(import.meta.url)('node-gyp-build').resolve(ROOT); // throws when no build or prebuild fits
  } catch {
    throw new Error('the native addon is not built: run `npm ci`');
  }
  await ensureGuestsBuilt(o.dist, say);
  const innerArgs = [fileURLToPath(import.meta.url), '--inner', '--secs', String(o.secs), '--warmup', String(o.warmup), '--sizes', o.sizes.join(','), '--rings', o.rings.join(','), '--window', String(o.window), '--dist', o.dist, '--tsc-hz', String(o.tscHz)];
  const report = await measure((where) => inner(o, where), innerArgs);
  if (o.json) console.log(JSON.stringify(report, null, 2));
  else printReport(report);
}

function fmtRate(x) {
  if (!Number.isFinite(x)) return '-';
  return x >= 1000 ? Math.round(x).toString() : x.toFixed(1);
}

function fmtMB(x) {
  if (!Number.isFinite(x)) return '-';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function fmtLoss(r) {
  if (!r || !r.sent) return '-';
  return `${((100 * r.lost) / r.sent).toFixed(1)}%`;
}

function printReport(rep) {
  const lines = [];
  lines.push(`virtio-net benchmark (bench/net.mjs), ${rep.date}`);
  lines.push(`where: ${rep.where}; ${rep.cpu}; kernel ${rep.kernel}`);
  lines.push(`TSC: ${(rep.tscHz / 1e6).toFixed(3)} MHz (${rep.tscSource}); TAP ${rep.tap} (txqueuelen ${rep.txqueuelen}) in a network namespace of its own`);
  lines.push(`every sender: ${rep.warmup} s of warm-up frames (checked, not counted), then ${rep.secs} s of measured frames`);
  lines.push('rates: at the receiver, frames after the first over the time from the first to the last; MB/s = 10^6 frame bytes/s (no virtio header)');
  lines.push(
    rep.window
      ? `host -> guest sender: pkt-send keeps up to ${rep.window} frames waiting in the TAP's queue (never more, so it never overflows) and sleeps meanwhile`
      : "host -> guest sender: pkt-send floods the TAP; what its queue cannot hold is dropped",
  );
  lines.push('guest -> host sender: the guest (or tap-write) as fast as it can; offered pps = the sender\'s own rate');
  lines.push('lost: frames sent that the receiver never got, in % of those sent');
  lines.push('');
  const rows = [['direction', 'frame', 'ring', 'pps', 'MB/s', 'base pps', 'base MB/s', 'ratio', 'lost', 'base lost', 'offered pps', 'base offered']];
  const bad = [];
  const notes = [];
  for (const c of rep.cases) {
    const b = c.baseline;
    for (const g of c.guest) {
      rows.push([
        DIRECTIONS.find((d) => d.name === c.direction)?.label ?? c.direction,
        `${c.size} B`,
        g.ring,
        fmtRate(g.pps),
        fmtMB(g.mbps),
        fmtRate(b.pps),
        fmtMB(b.mbps),
        Number.isFinite(g.pps / b.pps) ? (g.pps / b.pps).toFixed(3) : '-',
        fmtLoss(g.recv),
        fmtLoss(b.recv),
        fmtRate(g.offeredPps),
        fmtRate(b.offeredPps),
      ]);
      for (const [who, r] of [[`guest ${g.ring}`, g.recv], ['baseline', b.recv]]) {
        if (r && (r.bad || r.disorder)) bad.push(`${c.direction} ${c.size} B ${who}: ${r.bad} corrupted, ${r.disorder} out of order`);
        if (r && r.end !== 'marker') notes.push(`${c.direction} ${c.size} B ${who}: the receiver stopped on ${r.end}, not on the end marker`);
      }
      for (const l of g.vmmLog ?? []) notes.push(`${c.direction} ${c.size} B guest ${g.ring}: tsvmm said: ${l}`);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  rows.forEach((r, i) => {
    lines.push(r.map((cell, c) => (c >= 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  '));
    if (i === 0) lines.push(widths.map((n) => '-'.repeat(n)).join('  '));
  });
  lines.push('');
  lines.push(bad.length ? `CHECK FAILED: ${bad.join('; ')}` : 'every frame received was checked: none corrupted, none out of order');
  for (const n of notes) lines.push(`note: ${n}`);
  console.log(lines.join('\n'));
}

// ---- the inner side: runs where KVM is ------------------------------------



/** `key=value` pairs of a BENCH/NETH line; digits become numbers. */
function fields(line) {
  const r = {};
  for (const kv of line.trim().split(/\s+/)) {
    const eq = kv.indexOf('=');
    if (eq < 0) continue;
    const v = kv.slice(eq + 1);
    r[kv.slice(0, eq)] = /^\d+$/.test(v) ? Number(v) : v;
  }
  return r;
}

/** A child process whose stdout lines can be awaited. */
function start(cmd, args, label) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { child, label, stdout: '', stderr: '', waiters: [], marks: [] };
  let pending = '';
  child.stdout.on('data', (d) => {
    const now = process.hrtime.bigint();
    p.stdout += d.toString();
    pending += d.toString();
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, '');
      pending = pending.slice(nl + 1);
      const m = /^BENCH MARK tsc=(\d+)/.exec(line);
      if (m) p.marks.push({ tsc: BigInt(m[1]), ns: now });
      else if (/^(BENCH|NETH) /.test(line) || /FAIL:/.test(line)) say(`${label}: ${line}`);
      for (const w of [...p.waiters]) {
        if (w.re.test(line)) {
          p.waiters.splice(p.waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr.on('data', (d) => (p.stderr += d.toString()));
  p.done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const w of p.waiters) w.reject(new Error(`${label} ended (status ${code}, signal ${signal}) before printing ${w.re}:\n${p.stdout}\n${p.stderr}`));
      p.waiters.length = 0;
      resolve({ code, signal });
    });
  });
  return p;
}

/** Resolves with the first stdout line matching `re`; rejects after `ms`. */
function waitLine(p, re, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${p.label}: no line matching ${re} within ${ms / 1000} s:\n${p.stdout}\n${p.stderr}`)), ms);
    const w = {
      re,
      resolve: (line) => {
        clearTimeout(timer);
        resolve(line);
      },
      reject: (err) => {
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
async function finish(p, ms) {
  const timer = setTimeout(() => p.child.kill('SIGKILL'), ms);
  const r = await p.done;
  clearTimeout(timer);
  if (r.code !== 0) throw new Error(`${p.label} failed (status ${r.code}, signal ${r.signal}):\n${p.stdout.slice(-3000)}\n${p.stderr.slice(-3000)}`);
  return r;
}

function lineOf(p, re) {
  const line = p.stdout.split(/\r?\n/).find((l) => re.test(l));
  if (line === undefined) throw new Error(`${p.label}: no line matching ${re}:\n${p.stdout.slice(-3000)}\n${p.stderr.slice(-3000)}`);
  return fields(line);
}

/** A receiver's rate: frames after the first one over the first-to-last time. */
function receiverRate(frames, size, secs) {
  if (frames < 2 || !(secs > 0)) return { pps: NaN, mbps: NaN };
  const pps = (frames - 1) / secs;
  return { pps, mbps: (pps * size) / 1e6 };
}

async function inner(o, where) {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (a network namespace and a TAP device)');
  if (!existsSync('/dev/net/tun')) throw new Error('/dev/net/tun does not exist (modprobe tun)');
  const tsc = o.tscHz ? { hz: o.tscHz, source: '--tsc-hz' } : detectTscHz();
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-netbench-'));
  const helper = join(dir, 'net_helper');
  const ns = `tsvmmbench${process.pid}`;
  const inNs = ['netns', 'exec', ns];
  const ip = (...args) => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const mainUrl = pathToFileURL(join(ROOT, o.dist, 'src', 'cli', 'main.js')).href;
  try {
    say('compiling bench/net_helper.c');
    const cc = spawnSync('gcc', ['-O2', '-Wall', '-o', helper, HELPER_SRC], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc bench/net_helper.c failed:\n${cc.stderr}`);

    // A namespace of our own with one persistent TAP: tsvmm and the
    // baseline tools attach to it by name in turn. No IPv6 on it, so the
    // host kernel sends nothing of its own (router solicitations, MLD).
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap');
    ip(...inNs, 'sh', '-c', `echo 1 > /proc/sys/net/ipv6/conf/${TAP}/disable_ipv6`);
    ip('-n', ns, 'link', 'set', TAP, 'up');
    const txqueuelen = Number(/qlen (\d+)/.exec(ip('-n', ns, '-o', 'link', 'show', TAP))?.[1] ?? NaN);

    const running = new Set();
    const track = (p) => {
      running.add(p);
      p.done.finally(() => running.delete(p)).catch(() => {});
      return p;
    };
    const helperProc = (mode, size, run, extra, label) => track(start('ip', [...inNs, helper, mode, '--size', String(size), '--run', String(run), ...extra], label));
    const vmm = (append, label) =>
      track(start('ip', [...inNs, process.execPath, '--input-type=module', '-e', LAUNCH, '--', mainUrl, '-k', GUEST, '-m', '64M', '--net', `tap:${TAP}`, '--append', append], label));
    const guestArgs = (mode, size, ring, run) =>
      `bench.mode=${mode} bench.size=${size} bench.ring=${ring} bench.run=${run} bench.secs=${o.secs} bench.warmup=${o.warmup} bench.tsc_hz=${tsc.hz}`;
    const vmmLog = (g) => g.stderr.trim().split('\n').filter((l) => /virtio-net|dropped|unusable/.test(l));
    const guestOk = (g, mode, ring) => {
      if (/FAIL:/.test(g.stdout) || !/^BENCH DONE$/m.test(g.stdout)) throw new Error(`netbench (${mode}, ${ring}) failed:\n${g.stdout}\n${g.stderr}`);
    };
    const limitMs = (o.warmup + o.secs + 300) * 1000;
    const sendLimit = ['--secs', String(o.secs), '--warmup', String(o.warmup)];
    const window = ['--window', String(o.window)];
    // A receiver waits this long for the first frame: tsvmm takes a while to
    // start in the test host. It is killed if the sender fails.
    const longWait = ['--wait', '600'];

    const cases = [];
    try {
      for (const size of o.sizes) {
        // ---- guest -> host: the sender is the guest or tap-write; pkt-recv counts ----
        {
          const c = { direction: 'g2h', size, baseline: null, guest: [] };
          let run = randomInt(1, 2 ** 31);
          say(`guest -> host, ${size} B: baseline (tap-write -> pkt-recv)`);
          let rx = helperProc('pkt-recv', size, run, ['--if', TAP], 'pkt-recv');
          await waitLine(rx, /^NETH ready/, 60000);
          const tw = helperProc('tap-write', size, run, ['--tap', TAP, ...sendLimit], 'tap-write');
          await finish(tw, limitMs);
          await finish(rx, limitMs);
          const sent = lineOf(tw, /^NETH sent /);
          const recv = lineOf(rx, /^NETH recv /);
          c.baseline = { sent, recv, ...receiverRate(recv.frames, size, recv.ns / 1e9), offeredPps: sent.frames / (sent.ns / 1e9) };

          for (const ring of o.rings) {
            run = randomInt(1, 2 ** 31);
            say(`guest -> host, ${size} B: guest, ${ring} ring (netbench tx -> pkt-recv)`);
            rx = helperProc('pkt-recv', size, run, ['--if', TAP, ...longWait], 'pkt-recv');
            await waitLine(rx, /^NETH ready/, 60000);
            const t0 = process.hrtime.bigint();
            const g = vmm(guestArgs('tx', size, ring, run), `netbench ${ring}`);
            await finish(g, limitMs);
            const wallNs = Number(process.hrtime.bigint() - t0);
            guestOk(g, 'tx', ring);
            await finish(rx, limitMs);
            const tx = lineOf(g, /^BENCH tx /);
            const recv2 = lineOf(rx, /^NETH recv /);
            let tscCheckHz = 0;
            if (g.marks.length === 2) {
              const ns2 = Number(g.marks[1].ns - g.marks[0].ns);
              if (ns2 > 0) tscCheckHz = Number(g.marks[1].tsc - g.marks[0].tsc) / (ns2 / 1e9);
            }
            c.guest.push({
              ring,
              start: lineOf(g, /^BENCH start /),
              tx,
              recv: recv2,
              ...receiverRate(recv2.frames, size, recv2.ns / 1e9),
              offeredPps: tx.frames / (tx.cycles / tsc.hz),
              tscCheckHz,
              wallNs,
              vmmLog: vmmLog(g),
            });
          }
          cases.push(c);
        }
        // ---- host -> guest: pkt-send sends; the guest or tap-read receives ----
        {
          const c = { direction: 'h2g', size, baseline: null, guest: [] };
          let run = randomInt(1, 2 ** 31);
          say(`host -> guest, ${size} B: baseline (pkt-send -> tap-read)`);
          const rx = helperProc('tap-read', size, run, ['--tap', TAP], 'tap-read');
          await waitLine(rx, /^NETH ready/, 60000);
          let tx = helperProc('pkt-send', size, run, ['--if', TAP, ...sendLimit, ...window], 'pkt-send');
          await finish(tx, limitMs);
          await finish(rx, limitMs);
          const sent = lineOf(tx, /^NETH sent /);
          const recv = lineOf(rx, /^NETH recv /);
          c.baseline = { sent, recv, ...receiverRate(recv.frames, size, recv.ns / 1e9), offeredPps: sent.frames / (sent.ns / 1e9) };

          for (const ring of o.rings) {
            run = randomInt(1, 2 ** 31);
            say(`host -> guest, ${size} B: guest, ${ring} ring (pkt-send -> netbench rx)`);
            const t0 = process.hrtime.bigint();
            const g = vmm(guestArgs('rx', size, ring, run), `netbench ${ring}`);
            await waitLine(g, /^BENCH ready/, 300000);
            tx = helperProc('pkt-send', size, run, ['--if', TAP, ...sendLimit, ...window], 'pkt-send');
            await finish(tx, limitMs);
            await finish(g, limitMs);
            const wallNs = Number(process.hrtime.bigint() - t0);
            guestOk(g, 'rx', ring);
            const sent2 = lineOf(tx, /^NETH sent /);
            const recv2 = lineOf(g, /^BENCH rx /);
            c.guest.push({
              ring,
              start: lineOf(g, /^BENCH start /),
              sent: sent2,
              recv: recv2,
              ...receiverRate(recv2.frames, size, recv2.cycles / tsc.hz),
              offeredPps: sent2.frames / (sent2.ns / 1e9),
              wallNs,
              vmmLog: vmmLog(g),
            });
          }
          cases.push(c);
        }
      }
    } finally {
      for (const p of running) p.child.kill('SIGKILL');
    }
    return {
      date: new Date().toISOString(),
      where,
      cpu: cpuName(),
      kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
      secs: o.secs,
      warmup: o.warmup,
      tscHz: tsc.hz,
      tscSource: tsc.source,
      tap: TAP,
      txqueuelen,
      window: o.window,
      dist: o.dist,
      cases,
    };
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await benchMain('bench/net.mjs', parseCli(process.argv.slice(2)), inner, outer);
