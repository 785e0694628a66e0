// One case of the data-path benchmark (bench/datapath.ts), in a process of
// its own so that "cold" is cold: a fresh V8 with nothing compiled yet.
//
// It builds what the VMM builds for one virtio device, minus KVM: guest RAM
// as a memfd (GuestMemory.create), the transport's shared state as the
// driver would have configured it (rings placed, features negotiated, MSI-X
// vectors), the kick and interrupt eventfds (createVirtioSpec), and the
// backend (a TAP in the benchmark's network namespace, or the disk image).
// Then it starts the device, either tsvmm's own device worker
// (src/devices/virtio/worker.ts, the thread the VMM runs, unchanged) or the
// C reference device (bench/datapath.c device), and the C driver
// (bench/datapath.c driver), which fills the rings, kicks through the
// ioeventfd's eventfd and reads the irqfd's eventfd, like a guest whose
// exits cost nothing. The driver's report is printed as one DATAPATHJSON line.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { GuestMemory } from '../src/memory/guest_memory.js';
import { native } from '../src/native/addon.js';
import { signalEventfd } from '../src/native/eventfd.js';
import { VIRTIO_F, VIRTIO_STATUS, PACKED } from '../src/devices/virtio/constants.js';
import { DEVICE_METRIC } from '../src/devices/virtio/metrics.js';
import { SHARED, QUEUE_WORD, queueWord } from '../src/devices/virtio/shared_state.js';
import { createVirtioSpec, type VirtioBackendSpec } from '../src/devices/virtio/spec.js';
import { splitRingSizes } from '../src/devices/virtio/queue_split.js';
import type { DeviceWorkerData, DeviceWorkerMessage } from '../src/devices/virtio/worker.js';
import { VIRTIO_NET_F, VIRTIO_NET_QUEUE } from '../src/devices/virtio/net/constants.js';
import { configureTap, openTap } from '../src/devices/virtio/net/tap.js';
import { createLogWords } from '../src/devices/worker_log.js';

export type Workload = 'tx' | 'rx' | 'blk';
export type Ring = 'split' | 'packed';
export type Impl = 'ts' | 'c';

export interface CaseSpec {
  readonly workload: Workload;
  readonly ring: Ring;
  readonly impl: Impl;
  readonly eventIdx: boolean;
  readonly qsize: number;
  readonly inflight: number;
  /** Frame size (Ethernet header included, no FCS). */
  readonly size: number;
  readonly cold: number;
  /** Start the driver at the worker's 'ready' (its warm-up then runs between requests) or once it is 'warm'. */
  readonly start: 'ready' | 'warm';
  readonly settleSecs: number;
  readonly warmSecs: number;
  /** The compiled bench/datapath.c. */
  readonly exe: string;
  readonly tap: string;
  readonly image: string;
  readonly imageSize: number;
}

export interface PhaseResult {
  readonly ops: number;
  readonly ns: number;
  readonly cpuNs: number;
  readonly kicks: number;
  readonly irqs: number;
  readonly bytes: number;
}

export interface CaseResult {
  readonly spec: CaseSpec;
  readonly cold: PhaseResult;
  readonly warm: PhaseResult;
  readonly lost: number;
  readonly bad: number;
  readonly other: number;
  /** TX: frames the TAP took (its rx_packets) over the frames the driver got back. */
  readonly tapFrames?: number;
  /** tsvmm's own counters (metrics.ts), for the ts device. */
  readonly deviceKicks?: number;
  readonly deviceInterrupts?: number;
  /** From new Worker() to its 'ready' (modules loaded, state built), ms. */
  readonly readyMs?: number;
  /** How long its warm-up took after 'ready' (ms); undefined if it had not finished when the run ended. */
  readonly warmUpMs?: number;
}

const RAM = 16 << 20;
/** Queue q's rings at QUEUE_BASE + q * QUEUE_STRIDE; buffers from DATA_BASE. */
const QUEUE_BASE = 0x10_0000;
const QUEUE_STRIDE = 0x10_0000;
const DATA_BASE = 0x40_0000;
const MAC = [0x02, 0, 0, 0, 0, 0x01];

interface Layout {
  size: number;
  desc: number;
  driver: number;
  device: number;
}

function layoutFor(ring: Ring, size: number, q: number): Layout {
  const desc = QUEUE_BASE + q * QUEUE_STRIDE;
  if (ring === 'packed') return { size, desc, driver: desc + size * PACKED.DESC_SIZE, device: desc + size * PACKED.DESC_SIZE + 0x100 };
  const s = splitRingSizes(size);
  const driver = desc + s.desc;
  return { size, desc, driver, device: Math.ceil((driver + s.avail) / 0x100) * 0x100 };
}

const arg = (l: Layout): string => `${l.size}:${l.desc}:${l.driver}:${l.device}`;

function featureWords(spec: CaseSpec): [number, number] {
  let lo = 0;
  let hi = 0;
  const set = (bit: number): void => {
    if (bit < 32) lo |= 1 << bit;
    else hi |= 1 << (bit - 32);
  };
  set(VIRTIO_F.VERSION_1);
  if (spec.ring === 'packed') set(VIRTIO_F.RING_PACKED);
  if (spec.eventIdx) set(VIRTIO_F.RING_EVENT_IDX);
  if (spec.workload !== 'blk') set(VIRTIO_NET_F.MRG_RXBUF);
  return [lo >>> 0, hi >>> 0];
}

function lines(child: ChildProcess, onLine: (line: string) => void): void {
  let pending = '';
  child.stdout!.on('data', (d: Buffer) => {
    pending += d.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
}

function waitFor(child: ChildProcess, re: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no "${re.source}" within 30 s`)), 30_000);
    lines(child, (line) => {
      if (re.test(line)) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.on('exit', (code, signal) => reject(new Error(`${what} ended (status ${code}, signal ${signal})`)));
  });
}

function fields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of line.trim().split(/\s+/)) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

function phase(line: string | undefined): PhaseResult {
  if (line === undefined) throw new Error('the driver reported no phase');
  const f = fields(line);
  const n = (k: string): number => Number(f[k] ?? NaN);
  return { ops: n('ops'), ns: n('ns'), cpuNs: n('cpu_ns'), kicks: n('kicks'), irqs: n('irqs'), bytes: n('bytes') };
}

function tapRxPackets(tap: string): number {
  return Number(readFileSync(`/sys/class/net/${tap}/statistics/rx_packets`, 'utf8'));
}

export async function runCase(spec: CaseSpec): Promise<CaseResult> {
  const net = spec.workload !== 'blk';
  const { memory, descriptor } = GuestMemory.create([{ gpa: 0, size: RAM }]);
  void memory;
  const numQueues = net ? 2 : 1;
  const queue = spec.workload === 'tx' ? VIRTIO_NET_QUEUE.TX : 0;
  const layouts = Array.from({ length: numQueues }, (_, q) => layoutFor(spec.ring, spec.qsize, q));

  let backend: VirtioBackendSpec;
  let backendFd: number;
  if (net) {
    const tap = openTap(spec.tap);
    writeFileSync(`/proc/sys/net/ipv6/conf/${tap.name}/disable_ipv6`, '1');
    const up = spawn('ip', ['link', 'set', tap.name, 'up'], { stdio: 'inherit' });
    await new Promise((resolve) => up.on('exit', resolve));
    backend = { kind: 'net', tapFd: tap.fd, tapName: tap.name, mac: MAC };
    backendFd = tap.fd;
  } else {
    backendFd = openSync(spec.image, 'r');
    backend = { kind: 'blk', fd: backendFd, size: spec.imageSize, readOnly: true, serial: 'datapath' };
  }
  const vspec = createVirtioSpec(backend, numQueues, { slot: 1, barGpa: 0, intxGsi: 0 });
  const state = new Int32Array(vspec.state);
  const [lo, hi] = featureWords(spec);
  Atomics.store(state, SHARED.FEATURES_LO, lo | 0);
  Atomics.store(state, SHARED.FEATURES_HI, hi | 0);
  Atomics.store(state, SHARED.MSIX_ENABLED, 1);
  Atomics.store(state, SHARED.CONFIG_VECTOR, numQueues);
  Atomics.store(state, SHARED.NUM_QUEUES, numQueues);
  layouts.forEach((l, q) => {
    const w = (word: number, v: number): void => void Atomics.store(state, queueWord(q, word), v);
    w(QUEUE_WORD.SIZE, l.size);
    w(QUEUE_WORD.ENABLED, 1);
    w(QUEUE_WORD.VECTOR, q);
    w(QUEUE_WORD.DESC_LO, l.desc);
    w(QUEUE_WORD.DRIVER_LO, l.driver);
    w(QUEUE_WORD.DEVICE_LO, l.device);
  });
  Atomics.store(state, SHARED.STATUS, VIRTIO_STATUS.ACKNOWLEDGE | VIRTIO_STATUS.DRIVER | VIRTIO_STATUS.FEATURES_OK);

  const common = ['--ring', spec.ring, '--event-idx', spec.eventIdx ? '1' : '0', '--mem-fd', '3', '--mem-size', String(RAM)];
  let devicePid = process.pid;
  let cDevice: ChildProcess | undefined;
  if (spec.impl === 'c') {
    const features = (BigInt(hi) << 32n) | BigInt(lo);
    if (net) configureTap(backendFd, features);
    const fds = [descriptor.fd, backendFd, ...vspec.kickFds.flatMap((k, q) => [k, vspec.msiFds[q]!])];
    const qargs = layouts.flatMap((l, q) => [`--queue${q}`, arg(l), `--kick${q}`, String(5 + 2 * q), `--irq${q}`, String(6 + 2 * q)]);
    cDevice = spawn(spec.exe, ['device', '--kind', net ? 'net' : 'blk', ...common, '--backend-fd', '4', ...qargs], { stdio: ['ignore', 'pipe', 'inherit', ...fds] });
    await waitFor(cDevice, /^DATAPATH device ready/, 'the C device');
    devicePid = cDevice.pid!;
  }
  const driver = spawn(
    spec.exe,
    [
      'driver',
      '--mode',
      spec.workload,
      ...common,
      '--queue',
      arg(layouts[queue]!),
      '--kick',
      '4',
      '--irq',
      '5',
      '--device-pid',
      String(devicePid),
      '--data',
      String(DATA_BASE),
      '--inflight',
      String(spec.inflight),
      '--size',
      String(spec.size),
      '--cold',
      String(spec.cold),
      '--settle-secs',
      String(spec.settleSecs),
      '--warm-secs',
      String(spec.warmSecs),
      '--ifname',
      spec.tap,
      '--disk-size',
      String(spec.imageSize),
    ],
    { stdio: ['pipe', 'pipe', 'inherit', descriptor.fd, vspec.kickFds[queue]!, vspec.msiFds[queue]!] },
  );
  const out: string[] = [];
  lines(driver, (l) => out.push(l));
  const ended = new Promise<number | null>((resolve) => driver.on('exit', (code) => resolve(code)));
  await waitFor(driver, /^DATAPATH ready/, 'the driver');

  let stopWorker = async (): Promise<void> => undefined;
  let warmUpMs: number | undefined;
  let readyMs: number | undefined;
  if (spec.impl === 'ts') {
    // What the VMM does: start the device's worker, wait for it, and at the
    // guest's DRIVER_OK set the status and write the control eventfd.
    const data: DeviceWorkerData = { memory: descriptor, spec: vspec, log: createLogWords() };
    const worker = new Worker(new URL('../src/devices/virtio/worker.js', import.meta.url), { workerData: data });
    worker.on('error', (err) => {
      console.error(`datapath: device worker failed: ${err.message}`);
      native.exitGroup(1);
    });
    // The VMM seals and starts the guest at 'ready'; the worker then warms up
    // between the guest's requests and says 'warm' when done.
    let ready: () => void = () => {};
    let warm: () => void = () => {};
    const readyP = new Promise<void>((resolve) => (ready = resolve));
    const warmP = new Promise<void>((resolve) => (warm = resolve));
    const t0 = performance.now();
    worker.on('message', (m: DeviceWorkerMessage) => {
      if (m.kind === 'ready') {
        readyMs = performance.now() - t0;
        ready();
      } else if (m.kind === 'warm') {
        warmUpMs = m.ms;
        warm();
      } else console.error(`datapath: device: ${m.line}`);
    });
    await readyP;
    if (spec.start === 'warm') await warmP;
    Atomics.or(state, SHARED.STATUS, VIRTIO_STATUS.DRIVER_OK);
    signalEventfd(vspec.controlFd);
    // Ends the worker normally (so that --cpu-prof can write its profile): the
    // control eventfd wakes it from poll() into the termination.
    stopWorker = async () => {
      const gone = new Promise((resolve) => worker.on('exit', resolve));
      void worker.terminate();
      signalEventfd(vspec.controlFd);
      await gone;
    };
  }
  const tapBefore = net ? tapRxPackets(spec.tap) : 0;
  driver.stdin!.write('go\n');
  const code = await ended;
  if (code !== 0) throw new Error(`the driver failed (status ${code}):\n${out.join('\n')}`);
  const counters = new Float64Array(vspec.counters);
  const done = fields(out.find((l) => l.startsWith('DATAPATH done')) ?? '');
  const cold = phase(out.find((l) => l.startsWith('DATAPATH phase=cold')));
  const warm = phase(out.find((l) => l.startsWith('DATAPATH phase=warm')));
  cDevice?.kill('SIGKILL');
  await stopWorker();
  return {
    spec,
    cold,
    warm,
    lost: Number(done.lost ?? 0),
    bad: Number(done.bad ?? 0),
    other: Number(done.other ?? 0),
    ...(spec.workload === 'tx' ? { tapFrames: tapRxPackets(spec.tap) - tapBefore } : {}),
    ...(spec.impl === 'ts' ? { deviceKicks: counters[DEVICE_METRIC.KICKS]!, deviceInterrupts: counters[DEVICE_METRIC.INTERRUPTS]!, warmUpMs, readyMs } : {}),
  };
}
