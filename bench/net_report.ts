// bench/net.ts's report: its shape (saved with --json, read back with
// --print) and the tables it prints.
import { table } from './common.js';
import type { fields } from './procs.js';

type Fields = ReturnType<typeof fields>;

/** tsvmm's counters for the NIC over one guest run (--metrics), or null. */
type Device = Record<string, number> | null;

export interface Rate {
  pps: number;
  mbps: number;
  offeredPps: number;
}

export interface GuestRun extends Rate {
  ring: string;
  start: Fields;
  tx?: Fields;
  sent?: Fields;
  recv: Fields;
  tscCheckHz?: number;
  wallNs: number;
  vmmLog: string[];
  device: Device;
}

export interface Case {
  direction: 'g2h' | 'h2g';
  size: number;
  baseline: Rate & { sent: Fields; recv: Fields };
  guest: GuestRun[];
}

/** Round-trip times in microseconds. */
export interface Rtt {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  lost: number;
  kicks: number;
}

export interface PingRun {
  ring: string;
  guest: Rtt;
  baseline: Rtt;
  device: Device;
}

export interface Report {
  date: string;
  where: string;
  cpu: string;
  kernel: string;
  secs: number;
  warmup: number;
  irq: boolean;
  tscHz: number;
  tscSource: string;
  tap: string;
  txqueuelen: number;
  window: number;
  dist: string;
  cases: Case[];
  pings: PingRun[];
}

const LABEL: Record<Case['direction'], string> = { g2h: 'guest -> host', h2g: 'host -> guest' };

function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return '-';
  return x >= 1000 ? Math.round(x).toString() : x.toFixed(1);
}

function fmtMB(x: number): string {
  if (!Number.isFinite(x)) return '-';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function fmtLoss(r: Fields | undefined): string {
  if (r === undefined || !r.sent) return '-';
  return `${((100 * (r.lost ?? 0)) / r.sent).toFixed(1)}%`;
}

const per = (n: number | undefined, d: number | undefined): string => (n === undefined || d === undefined || !d ? '-' : (n / d).toFixed(3));
const us = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

export function printReport(rep: Report): void {
  const lines: string[] = [];
  lines.push(`virtio-net benchmark (bench/net.ts), ${rep.date}`);
  lines.push(`where: ${rep.where}; ${rep.cpu}; kernel ${rep.kernel}`);
  lines.push(`TSC: ${(rep.tscHz / 1e6).toFixed(3)} MHz (${rep.tscSource}); TAP ${rep.tap} (txqueuelen ${rep.txqueuelen}) in a network namespace of its own`);
  lines.push(`every sender: ${rep.warmup} s of warm-up frames (checked, not counted), then ${rep.secs} s of measured frames`);
  lines.push('rates: at the receiver, frames after the first over the time from the first to the last; MB/s = 10^6 frame bytes/s (no virtio header)');
  lines.push(
    rep.window
      ? `host -> guest sender: pkt-send keeps up to ${rep.window} frames waiting in the TAP's queue (never more, so it never overflows) and sleeps meanwhile`
      : "host -> guest sender: pkt-send floods the TAP; what its queue cannot hold is dropped",
  );
  lines.push("guest -> host sender: the guest (or tap-write) as fast as it can; offered pps = the sender's own rate");
  lines.push('lost: frames sent that the receiver never got, in % of those sent');
  lines.push(`the guest polls its rings and asks for ${rep.irq ? 'interrupts (bench.irq=1)' : 'no interrupts'}; kicks/frame: its notifications; tsvmm kicks, irqs: what the device worker took and sent (--metrics), per frame`);
  lines.push('');
  const rows: string[][] = [['direction', 'frame', 'ring', 'pps', 'MB/s', 'base pps', 'base MB/s', 'ratio', 'lost', 'base lost', 'offered pps', 'base offered', 'kicks/frame', 'tsvmm kicks', 'tsvmm irqs']];
  const bad: string[] = [];
  const notes: string[] = [];
  for (const c of rep.cases) {
    const b = c.baseline;
    for (const g of c.guest) {
      const frames = c.direction === 'g2h' ? g.device?.tx_frames : g.device?.rx_frames;
      const guestKicks = c.direction === 'g2h' ? g.tx?.kicks : g.recv.kicks;
      const guestFrames = c.direction === 'g2h' ? g.tx?.frames : g.recv.frames;
      rows.push([
        LABEL[c.direction],
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
        per(guestKicks, guestFrames),
        per(g.device?.kicks, frames),
        per(g.device?.interrupts, frames),
      ]);
      for (const [who, r] of [[`guest ${g.ring}`, g.recv], ['baseline', b.recv]] as const) {
        if (r && (r.bad || r.disorder)) bad.push(`${c.direction} ${c.size} B ${who}: ${r.bad} corrupted, ${r.disorder} out of order`);
        if (r && String(r.end) !== 'marker') notes.push(`${c.direction} ${c.size} B ${who}: the receiver stopped on ${String(r.end)}, not on the end marker`);
      }
      for (const l of g.vmmLog ?? []) notes.push(`${c.direction} ${c.size} B guest ${g.ring}: tsvmm said: ${l}`);
    }
  }
  if (rep.cases.length > 0) {
    lines.push(...table(rows, (c) => c >= 3));
    lines.push('');
    lines.push(bad.length ? `CHECK FAILED: ${bad.join('; ')}` : 'every frame received was checked: none corrupted, none out of order');
    lines.push('');
  }
  if (rep.pings.length > 0) {
    lines.push('ping 64 B: round trip, guest (netbench ping) vs the TAP alone (tap-ping), both echoed by pkt-echo; microseconds');
    const p: string[][] = [['ring', 'pings', 'p50', 'p90', 'p99', 'min', 'base p50', 'base p99', 'added p50', 'lost', 'kicks/ping', 'tsvmm kicks/ping', 'tsvmm irqs/ping']];
    for (const r of rep.pings) {
      const pingsDone = r.guest.count;
      p.push([
        r.ring,
        String(pingsDone),
        us(r.guest.p50),
        us(r.guest.p90),
        us(r.guest.p99),
        us(r.guest.min),
        us(r.baseline.p50),
        us(r.baseline.p99),
        us(r.guest.p50 - r.baseline.p50),
        String(r.guest.lost),
        per(r.guest.kicks, pingsDone),
        per(r.device?.kicks, r.device?.tx_frames),
        per(r.device?.interrupts, r.device?.tx_frames),
      ]);
    }
    lines.push(...table(p, (c) => c >= 1));
  }
  for (const n of notes) lines.push(`note: ${n}`);
  console.log(lines.join('\n'));
}
