// virtio-net benchmark: packets per second and MB/s, guest -> host and
// host -> guest, with 64- and 1500-byte frames, and the round-trip time of
// a 64-byte ping-pong, measured with a CPL3 test guest
// (test/guests/netbench.c) on tsvmm's virtio-net over a TAP, beside a
// host-only baseline that moves the same frames through the same TAP with
// the same host tools (bench/net_helper.c), as a ratio guest/baseline; plus
// the notifications: the guest's kicks, and tsvmm's own counts (--metrics)
// of the kicks its device worker took and the interrupts it sent.
//
//   node dist/bench/net.js [--secs N] [--warmup N] [--sizes 64,1500] [--rings split,packed]
//                          [--window N] [--pings N] [--workloads tput,latency] [--irq]
//                          [--dist DIR] [--tsc-hz HZ] [--json]
//   node dist/bench/net.js --print REPORT.json    the table of a saved --json report
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
//   ping 64 B       net_helper pkt-echo sends back every frame the TAP's
//                   host side gets.  guest: netbench (bench.mode=ping) sends
//                   one frame and waits for its echo, --pings times after
//                   100 warm-up ones.  baseline: net_helper tap-ping does
//                   the same from the TAP fd.
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
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomInt } from 'node:crypto';
import { benchMain, cpuName, detectTscHz, ensureGuestsBuilt, GUEST_DIR, kernelRelease, makeUsage, measure, parseOptions, ringList, ROOT, say, str, wholeNumber, type RingName } from './common.js';
import { fields, finish, lineOf, start, waitLine, type Proc } from './procs.js';
import { printReport, type Case, type GuestRun, type PingRun, type Report } from './net_report.js';
import { lastDeviceCounters } from './blk.js';

const GUEST = join(GUEST_DIR, 'build', 'netbench.elf');
const HELPER_SRC = join(ROOT, 'bench', 'net_helper.c');
const TAP = 'tsvmmb0';
/** Runs the tsvmm CLI from a compiled tree: argv = [node, main.js URL, ...tsvmm args]. */
const LAUNCH =
  'const { main } = await import(process.argv[1]);' +
  'main(process.argv.slice(2)).then((c) => { process.exitCode = c; },' +
  ' (e) => { process.stderr.write(`tsvmm: ${e instanceof Error ? e.message : String(e)}\\n`); process.exitCode = 1; });';

export interface Options {
  secs: number;
  warmup: number;
  sizes: number[];
  rings: RingName[];
  window: number;
  pings: number;
  workloads: Array<'tput' | 'latency'>;
  irq: boolean;
  dist: string;
  tscHz: number;
  json: boolean;
  inner: boolean;
  print: string | undefined;
}

const usage = makeUsage(
  'bench/net',
  'usage: node dist/bench/net.js [--secs N] [--warmup N] [--sizes 64,1500] [--rings split,packed] [--window N] [--pings N] [--workloads tput,latency] [--irq] [--dist DIR] [--tsc-hz HZ] [--json] | --print REPORT.json',
);

function parseCli(argv: string[]): Options {
  const v = parseOptions(
    argv,
    {
      secs: { type: 'string' },
      warmup: { type: 'string' },
      sizes: { type: 'string' },
      rings: { type: 'string' },
      window: { type: 'string' },
      pings: { type: 'string' },
      workloads: { type: 'string' },
      irq: { type: 'boolean' },
      dist: { type: 'string' },
      'tsc-hz': { type: 'string' },
      print: { type: 'string' },
    },
    usage,
  );
  const s = (k: string): string | undefined => str(v, k);
  const workloads = (s('workloads') ?? 'tput,latency').split(',').filter(Boolean);
  for (const w of workloads) if (w !== 'tput' && w !== 'latency') usage(`--workloads: ${w} is not tput or latency`);
  const o: Options = {
    secs: s('secs') === undefined ? 3 : Math.max(1, wholeNumber(usage, 'secs', s('secs')!)),
    warmup: s('warmup') === undefined ? 20 : wholeNumber(usage, 'warmup', s('warmup')!),
    sizes: (s('sizes') ?? '64,1500')
      .split(',')
      .filter(Boolean)
      .map((x) => wholeNumber(usage, 'sizes', x)),
    rings: ringList(usage, s('rings') ?? 'split'),
    window: s('window') === undefined ? 256 : wholeNumber(usage, 'window', s('window')!),
    pings: s('pings') === undefined ? 1000 : Math.max(10, wholeNumber(usage, 'pings', s('pings')!)),
    workloads: workloads as Options['workloads'],
    irq: v.irq === true,
    dist: s('dist') ?? 'dist',
    tscHz: s('tsc-hz') === undefined ? 0 : wholeNumber(usage, 'tsc-hz', s('tsc-hz')!),
    json: v.json === true,
    inner: v.inner === true,
    print: s('print'),
  };
  for (const size of o.sizes) if (size < 60 || size > 1514) usage(`--sizes: ${size} is not a frame size from 60 to 1514`);
  // The addon is found relative to the compiled files (DIST/src/native/addon.js
  // -> ../../.., where build/ and prebuilds/ are), so DIST must be a top-level directory of the repository.
  const dist = resolve(ROOT, o.dist);
  const rel = relative(ROOT, dist);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.includes('/')) usage(`--dist ${o.dist}: must be a top-level directory of the repository`);
  o.dist = rel;
  return o;
}

// ---- the outer side: build, pick the place, print the table ---------------

async function outer(o: Options): Promise<void> {
  if (o.print !== undefined) {
    printReport(JSON.parse(readFileSync(o.print, 'utf8')) as Report);
    return;
  }
  if (!existsSync(join(ROOT, o.dist, 'src', 'cli', 'main.js'))) throw new Error(`${o.dist}/ is missing: run \`npm run build\` first (or tsc --outDir ${o.dist})`);
  try {
    (createRequire(import.meta.url)('node-gyp-build') as { resolve: (dir: string) => string }).resolve(ROOT); // throws when no build or prebuild fits
  } catch {
    throw new Error('the native addon is not built: run `npm ci`');
  }
  await ensureGuestsBuilt(o.dist, say);
  const innerArgs = [
    fileURLToPath(import.meta.url),
    '--inner',
    '--secs',
    String(o.secs),
    '--warmup',
    String(o.warmup),
    '--sizes',
    o.sizes.join(','),
    '--rings',
    o.rings.join(','),
    '--window',
    String(o.window),
    '--pings',
    String(o.pings),
    '--workloads',
    o.workloads.join(','),
    '--dist',
    o.dist,
    '--tsc-hz',
    String(o.tscHz),
    ...(o.irq ? ['--irq'] : []),
  ];
  const report = await measure((where) => inner(o, where), innerArgs);
  if (o.json) console.log(JSON.stringify(report, null, 2));
  else printReport(report);
}

// ---- the inner side: runs where KVM is ------------------------------------

/** A receiver's rate: frames after the first one over the first-to-last time. */
function receiverRate(frames: number, size: number, secs: number): { pps: number; mbps: number } {
  if (frames < 2 || !(secs > 0)) return { pps: NaN, mbps: NaN };
  const pps = (frames - 1) / secs;
  return { pps, mbps: (pps * size) / 1e6 };
}

function tscCheck(g: Proc): number {
  if (g.marks.length !== 2) return 0;
  const ns = Number(g.marks[1]!.ns - g.marks[0]!.ns);
  return ns > 0 ? Number(g.marks[1]!.tsc - g.marks[0]!.tsc) / (ns / 1e9) : 0;
}

async function inner(o: Options, where: string): Promise<Report> {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (a network namespace and a TAP device)');
  if (!existsSync('/dev/net/tun')) throw new Error('/dev/net/tun does not exist (modprobe tun)');
  const tsc = o.tscHz ? { hz: o.tscHz, source: '--tsc-hz' } : detectTscHz();
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-netbench-'));
  const helper = join(dir, 'net_helper');
  const ns = `tsvmmbench${process.pid}`;
  const inNs = ['netns', 'exec', ns];
  const ip = (...args: string[]): string => {
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

    const running = new Set<Proc>();
    const track = (p: Proc): Proc => {
      running.add(p);
      p.done.finally(() => running.delete(p)).catch(() => {});
      return p;
    };
    const helperProc = (mode: string, size: number, run: number, extra: string[], label: string): Proc => track(start('ip', [...inNs, helper, mode, '--size', String(size), '--run', String(run), ...extra], label));
    let metricsN = 0;
    const vmm = (append: string, label: string): { p: Proc; metrics: string } => {
      const metrics = join(dir, `metrics-${metricsN++}.jsonl`);
      const p = track(start('ip', [...inNs, process.execPath, '--input-type=module', '-e', LAUNCH, '--', mainUrl, '-k', GUEST, '-m', '64M', '--net', `tap:${TAP}`, '--metrics', metrics, '--append', append], label));
      return { p, metrics };
    };
    const guestArgs = (mode: string, size: number, ring: string, run: number): string =>
      `bench.mode=${mode} bench.size=${size} bench.ring=${ring} bench.run=${run} bench.secs=${o.secs} bench.warmup=${o.warmup} bench.tsc_hz=${tsc.hz}` + (o.irq ? ' bench.irq=1' : '');
    const vmmLog = (g: Proc): string[] =>
      g.stderr
        .trim()
        .split('\n')
        .filter((l) => /virtio-net|dropped|unusable/.test(l));
    const guestOk = (g: Proc, mode: string, ring: string): void => {
      if (/FAIL:/.test(g.stdout) || !/^BENCH DONE$/m.test(g.stdout)) throw new Error(`netbench (${mode}, ${ring}) failed:\n${g.stdout}\n${g.stderr}`);
    };
    const limitMs = (o.warmup + o.secs + 300) * 1000;
    const sendLimit = ['--secs', String(o.secs), '--warmup', String(o.warmup)];
    const window = ['--window', String(o.window)];
    // A receiver waits this long for the first frame: tsvmm takes a while to
    // start in the test host. It is killed if the sender fails.
    const longWait = ['--wait', '600'];

    const cases: Case[] = [];
    const pings: PingRun[] = [];
    try {
      if (o.workloads.includes('tput')) {
        for (const size of o.sizes) {
          // ---- guest -> host: the sender is the guest or tap-write; pkt-recv counts ----
          {
            let run = randomInt(1, 2 ** 31);
            say(`guest -> host, ${size} B: baseline (tap-write -> pkt-recv)`);
            let rx = helperProc('pkt-recv', size, run, ['--if', TAP], 'pkt-recv');
            await waitLine(rx, /^NETH ready/, 60000);
            const tw = helperProc('tap-write', size, run, ['--tap', TAP, ...sendLimit], 'tap-write');
            await finish(tw, limitMs);
            await finish(rx, limitMs);
            const sent = lineOf(tw, /^NETH sent /);
            const recv = lineOf(rx, /^NETH recv /);
            const c: Case = { direction: 'g2h', size, baseline: { sent, recv, ...receiverRate(recv.frames!, size, recv.ns! / 1e9), offeredPps: sent.frames! / (sent.ns! / 1e9) }, guest: [] };

            for (const ring of o.rings) {
              run = randomInt(1, 2 ** 31);
              say(`guest -> host, ${size} B: guest, ${ring} ring (netbench tx -> pkt-recv)`);
              rx = helperProc('pkt-recv', size, run, ['--if', TAP, ...longWait], 'pkt-recv');
              await waitLine(rx, /^NETH ready/, 60000);
              const t0 = process.hrtime.bigint();
              const { p: g, metrics } = vmm(guestArgs('tx', size, ring, run), `netbench ${ring}`);
              await finish(g, limitMs);
              const wallNs = Number(process.hrtime.bigint() - t0);
              guestOk(g, 'tx', ring);
              await finish(rx, limitMs);
              const tx = lineOf(g, /^BENCH tx /);
              const recv2 = lineOf(rx, /^NETH recv /);
              const run2: GuestRun = {
                ring,
                start: lineOf(g, /^BENCH start /),
                tx,
                recv: recv2,
                ...receiverRate(recv2.frames!, size, recv2.ns! / 1e9),
                offeredPps: tx.frames! / (tx.cycles! / tsc.hz),
                tscCheckHz: tscCheck(g),
                wallNs,
                vmmLog: vmmLog(g),
                device: lastDeviceCounters(metrics, 'net0'),
              };
              c.guest.push(run2);
            }
            cases.push(c);
          }
          // ---- host -> guest: pkt-send sends; the guest or tap-read receives ----
          {
            let run = randomInt(1, 2 ** 31);
            say(`host -> guest, ${size} B: baseline (pkt-send -> tap-read)`);
            const rx = helperProc('tap-read', size, run, ['--tap', TAP], 'tap-read');
            await waitLine(rx, /^NETH ready/, 60000);
            let tx = helperProc('pkt-send', size, run, ['--if', TAP, ...sendLimit, ...window], 'pkt-send');
            await finish(tx, limitMs);
            await finish(rx, limitMs);
            const sent = lineOf(tx, /^NETH sent /);
            const recv = lineOf(rx, /^NETH recv /);
            const c: Case = { direction: 'h2g', size, baseline: { sent, recv, ...receiverRate(recv.frames!, size, recv.ns! / 1e9), offeredPps: sent.frames! / (sent.ns! / 1e9) }, guest: [] };

            for (const ring of o.rings) {
              run = randomInt(1, 2 ** 31);
              say(`host -> guest, ${size} B: guest, ${ring} ring (pkt-send -> netbench rx)`);
              const t0 = process.hrtime.bigint();
              const { p: g, metrics } = vmm(guestArgs('rx', size, ring, run), `netbench ${ring}`);
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
                ...receiverRate(recv2.frames!, size, recv2.cycles! / tsc.hz),
                offeredPps: sent2.frames! / (sent2.ns! / 1e9),
                wallNs,
                vmmLog: vmmLog(g),
                device: lastDeviceCounters(metrics, 'net0'),
              });
            }
            cases.push(c);
          }
        }
      }
      if (o.workloads.includes('latency')) {
        // ---- ping 64 B: pkt-echo sends every frame back; tap-ping or the guest pings ----
        const size = 64;
        let run = randomInt(1, 2 ** 31);
        say(`ping ${size} B: baseline (tap-ping <-> pkt-echo)`);
        let echo = helperProc('pkt-echo', size, run, ['--if', TAP, '--wait', '60'], 'pkt-echo');
        await waitLine(echo, /^NETH ready/, 60000);
        const tp = helperProc('tap-ping', size, run, ['--tap', TAP, '--count', String(o.pings), '--warmup-count', '100'], 'tap-ping');
        await finish(tp, limitMs);
        await finish(echo, limitMs);
        const base = lineOf(tp, /^NETH ping /);
        for (const ring of o.rings) {
          run = randomInt(1, 2 ** 31);
          say(`ping ${size} B: guest, ${ring} ring (netbench ping <-> pkt-echo)`);
          echo = helperProc('pkt-echo', size, run, ['--if', TAP, '--wait', '600'], 'pkt-echo');
          await waitLine(echo, /^NETH ready/, 60000);
          const { p: g, metrics } = vmm(`bench.mode=ping bench.size=${size} bench.ring=${ring} bench.run=${run} bench.count=${o.pings} bench.tsc_hz=${tsc.hz}` + (o.irq ? ' bench.irq=1' : ''), `netbench ping ${ring}`);
          await finish(g, limitMs);
          guestOk(g, 'ping', ring);
          await finish(echo, limitMs);
          const r = lineOf(g, /^BENCH ping /);
          const toUs = (cycles: number): number => (cycles / tsc.hz) * 1e6;
          pings.push({
            ring,
            guest: { count: r.count!, min: toUs(r.min!), p50: toUs(r.p50!), p90: toUs(r.p90!), p99: toUs(r.p99!), mean: toUs(r.mean!), lost: r.lost!, kicks: r.kicks! },
            baseline: { count: base.count!, min: base.min! / 1000, p50: base.p50! / 1000, p90: base.p90! / 1000, p99: base.p99! / 1000, mean: base.mean! / 1000, lost: base.lost!, kicks: 0 },
            device: lastDeviceCounters(metrics, 'net0'),
          });
        }
      }
    } finally {
      for (const p of running) p.child.kill('SIGKILL');
    }
    return {
      date: new Date().toISOString(),
      where,
      cpu: cpuName(),
      kernel: kernelRelease(),
      secs: o.secs,
      warmup: o.warmup,
      irq: o.irq,
      tscHz: tsc.hz,
      tscSource: tsc.source,
      tap: TAP,
      txqueuelen,
      window: o.window,
      dist: o.dist,
      cases,
      pings,
    };
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

export { fields };

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await benchMain('bench/net', parseCli(process.argv.slice(2)), inner, outer);
