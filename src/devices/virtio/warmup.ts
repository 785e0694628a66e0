// The warm-up: a device worker runs its own queue code (the same DeviceLoop,
// runtime, queue, packet and disk classes and addon calls) over synthetic
// rings in a private memory, with a socketpair standing in for the TAP and a
// memfd for the disk. V8 then compiles the hot paths, with the types and
// branches production gives them, before the guest drives them: the first
// packet goes as fast as the millionth.
//
// It never touches guest memory or the real backend. Everything it uses is
// made by prepareWarmUp(), before the worker reports ready (the VMM seals
// the process after that); run rounds with step() and release with close():
// they only read, write, poll and close. Scenarios run side by side, round
// by round, so V8 sees every shape and branch before it optimizes: split
// and packed rings, with and without EVENT_IDX, MSI-X and INTx, and for
// virtio-net mergeable buffers with and without offloads (what Linux and
// the test guests negotiate). Guest addresses lie above 4 GiB, so the
// compiled code expects any number, not only small integers.
import { GuestMemory } from '../../memory/guest_memory.js';
import { HostBuffer, IoTable } from '../../memory/io_table.js';
import { native } from '../../native/addon.js';
import { EFD, MFD } from '../../native/linux.js';
import { signalEventfd } from '../../native/eventfd.js';
import { VIRTIO_STATUS } from './constants.js';
import { VIRTIO_NET_F } from './net/constants.js';
import { DeviceLoop, irqfdSink } from './device_loop.js';
import { DEVICE_METRIC_SLOTS } from './metrics.js';
import { createSharedState, SHARED } from './shared_state.js';
import { CONTROL_WORD, type VirtioBackendSpec, type VirtioDeviceSpec } from './spec.js';
import type { QueueRuntime, VirtioKind } from './runtime.js';
import { WarmDriver } from './warmup_driver.js';
import { configureState, WARM, warmLayout, type Scenario } from './warmup_scenarios.js';

/** Rounds each scenario runs at least: enough for V8 to ask for optimized code of the paths every round takes (a blk round is a few requests). */
export const WARM_ROUNDS = { net: 64, blk: 1200 } as const;

/**
 * After those rounds the warm-up goes on until the rounds stop getting
 * faster: V8 compiles optimized code on a background thread and installs it
 * later, so "asked for" is not "in". Each scenario's timed rounds are summed
 * in windows of `WINDOW`; it has settled after `QUIET` windows in a row that
 * neither beat its best window by more than `FASTER` nor took more than
 * `SLOWER` times it. The warm-up ends when every scenario has, or after
 * `CAP_MS` (a busy machine may never look quiet).
 */
export const WARM_SETTLE = { WINDOW: 32, QUIET: 3, FASTER: 1.2, SLOWER: 1.5, CAP_MS: 5000 } as const;

/** Polls in a row that find nothing of the guest's before the device worker runs a warm-up round (worker.ts): the guest comes first. */
export const WARM_IDLE_POLLS = 32;

/** socketpair(2) for the stand-in TAP: AF_UNIX, SOCK_SEQPACKET (keeps frame boundaries), non-blocking. */
const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_NONBLOCK = 0o4000;
const VNET_HDR = 12;
const FRAME = 1514;
const BATCH = 32;
const BLOCK = 4096;

const NET_OFFLOADS = [VIRTIO_NET_F.MRG_RXBUF, VIRTIO_NET_F.CSUM, VIRTIO_NET_F.GUEST_CSUM, VIRTIO_NET_F.HOST_TSO4, VIRTIO_NET_F.GUEST_TSO4, VIRTIO_NET_F.HOST_TSO6, VIRTIO_NET_F.GUEST_TSO6];
const SCENARIOS: readonly Scenario[] = [
  { packed: false, eventIdx: false, msix: true, net: [VIRTIO_NET_F.MRG_RXBUF], size: 128, perSlot: 2, txBurst: BATCH, starveEvery: 0 },
  // One-buffer chains, more of them per round than a TX batch holds.
  { packed: true, eventIdx: false, msix: true, net: [VIRTIO_NET_F.MRG_RXBUF], size: 128, perSlot: 1, txBurst: 96, starveEvery: 0 },
  // Linux's choice; the RX ring runs dry now and then.
  { packed: true, eventIdx: true, msix: true, net: NET_OFFLOADS, size: 128, perSlot: 2, txBurst: BATCH, starveEvery: 3 },
  // A queue the size of a round's batch: TX and RX stop at their budget and resume.
  { packed: false, eventIdx: true, msix: false, net: [], size: BATCH, perSlot: 1, txBurst: BATCH, starveEvery: 0 },
];

const eventfd = (): number => native.eventfd(0, EFD.NONBLOCK);

/** One synthetic device: its fds, runtime, loop and driver queues. */
interface Instance {
  readonly s: Scenario;
  /** Its index: where its rings and buffers lie. */
  readonly n: number;
  readonly net: boolean;
  readonly numQueues: number;
  readonly state: Int32Array;
  readonly control: SharedArrayBuffer;
  readonly controlFd: number;
  readonly kickFds: readonly number[];
  readonly runtime: QueueRuntime;
  readonly loop: DeviceLoop;
  drivers: WarmDriver[];
  /** net: the socket's other end (the "host" side of the stand-in TAP); blk: -1. */
  readonly peer: number;
  /** Buffers each queue's slots use: base guest address. */
  readonly data: number;
  /** TX slots free to post. */
  readonly free: number[];
  rounds: number;
  /** Its device's counters (./metrics.ts). */
  readonly counters: Float64Array;
  /** Its current window of timed rounds (ms, rounds), its fastest window, and windows since it last got faster or was slow (WARM_SETTLE). */
  windowMs: number;
  windowRounds: number;
  best: number;
  quiet: number;
}

export class WarmUp {
  private next = 0;
  private started = -1;
  private readonly scratch: IoTable;
  private readonly sent: IoTable;

  constructor(
    private readonly instances: Instance[],
    private readonly fds: number[],
    private readonly memory: GuestMemory,
    private readonly rounds: number,
  ) {
    // The "host" side of the stand-in TAP: takes TX frames (each read into a
    // scratch buffer, with a byte of overflow room) and sends RX frames.
    const scratch = new HostBuffer(new Uint8Array(VNET_HDR + FRAME + 64));
    const room = new HostBuffer(new Uint8Array(1));
    const frame = new Uint8Array(VNET_HDR + FRAME);
    frame.fill(0xff, VNET_HDR, VNET_HDR + 6);
    frame[VNET_HDR + 12] = 0x88;
    frame[VNET_HDR + 13] = 0xb5;
    const out = new HostBuffer(frame);
    this.scratch = new IoTable(memory, 2 * BATCH, BATCH);
    this.sent = new IoTable(memory, BATCH, BATCH);
    for (let i = 0; i < BATCH; i++) {
      this.scratch.begin();
      this.scratch.addHost(scratch, scratch.bytes.length);
      this.scratch.addHost(room, 1);
      this.sent.begin();
      this.sent.addHost(out, frame.length);
    }
  }

  /** Every scenario ran its rounds and settled (or the time is up: WARM_SETTLE). */
  get done(): boolean {
    if (!this.instances.every((i) => i.rounds >= this.rounds)) return false;
    return this.instances.every((i) => i.quiet >= WARM_SETTLE.QUIET) || performance.now() - this.started >= WARM_SETTLE.CAP_MS;
  }

  /** Per scenario: the rounds it ran, whether it settled, whether its device wants a reset (a ring it found broken), and its counters (a copy). */
  report(): Array<{ rounds: number; settled: boolean; needsReset: boolean; counters: Float64Array }> {
    return this.instances.map((i) => ({
      rounds: i.rounds,
      settled: i.quiet >= WARM_SETTLE.QUIET,
      needsReset: (Atomics.load(i.state, SHARED.STATUS) & VIRTIO_STATUS.DEVICE_NEEDS_RESET) !== 0,
      counters: i.counters.slice(),
    }));
  }

  /** One round of the next scenario. */
  step(): void {
    if (this.started < 0) this.started = performance.now();
    const inst = this.instances[this.next]!;
    this.next = (this.next + 1) % this.instances.length;
    inst.rounds++;
    // Now and then the control eventfd fires: a pause and a resume, as the
    // VMM sends them, or the driver resets the device and sets it up again.
    // Those rounds do more, so only the others are timed.
    let timed = true;
    if (inst.rounds % 16 === 8) {
      this.pauseAndResume(inst);
      timed = false;
    }
    if (inst.rounds % 32 === 16) {
      const control = new Int32Array(inst.control);
      Atomics.add(control, CONTROL_WORD.RESET_REQUEST, 1);
      signalEventfd(inst.controlFd);
      inst.loop.round(false);
      activate(inst, this.memory);
      timed = false;
    }
    const t0 = performance.now();
    if (inst.peer >= 0) this.netRound(inst);
    else this.blkRound(inst);
    if (timed) settle(inst, performance.now() - t0);
  }

  private pauseAndResume(inst: Instance): void {
    const control = new Int32Array(inst.control);
    for (const pause of [1, 0]) {
      Atomics.store(control, CONTROL_WORD.PAUSE, pause);
      signalEventfd(inst.controlFd);
      inst.loop.round(false);
    }
  }

  close(): void {
    for (const fd of this.fds) native.close(fd);
    this.fds.length = 0;
  }

  /** A batch out through TX into the socket, back in through the socket into RX buffers. */
  private netRound(inst: Instance): void {
    const [rx, tx] = inst.drivers as [WarmDriver, WarmDriver];
    const { loop, free, s, data } = inst;
    const txBase = data + rx.slots * WARM.SLOT;
    const csum = s.net.includes(VIRTIO_NET_F.CSUM);
    for (let i = 0; i < s.txBurst && free.length > 0; i++) {
      const slot = free.pop()!;
      const at = txBase + slot * WARM.SLOT;
      this.memory.writeU8(at, csum && i % 2 === 1 ? 1 : 0); // NEEDS_CSUM on every other frame when CSUM was negotiated
      // Linux puts the header in its own buffer or in front of the frame.
      if (i % 4 === 3 && s.perSlot > 1) tx.post(slot, [[at, VNET_HDR, false], [at + VNET_HDR, FRAME, false]]);
      else tx.post(slot, [[at, VNET_HDR + FRAME, false]]);
    }
    tx.enableInterrupts(s.eventIdx);
    signalEventfd(inst.kickFds[1]!);
    loop.round(false);
    tx.take((slot) => free.push(slot));
    // What TX wrote comes back as received frames, a batch per call.
    for (let got = BATCH; got === BATCH; ) {
      got = native.readvEach(inst.peer, this.scratch.iov, this.scratch.counts, BATCH, this.scratch.results);
      let frames = 0;
      while (frames < got && this.scratch.results[frames]! > 0) frames++;
      if (frames > 0) native.writevEach(inst.peer, this.sent.iov, this.sent.counts, frames, this.sent.results);
      loop.round(false);
    }
    if (s.starveEvery !== 0 && inst.rounds % s.starveEvery === 0) return; // the driver is late: RX runs dry
    rx.take((slot) => rx.post(slot, [[data + slot * WARM.SLOT, WARM.SLOT, true]]));
    rx.enableInterrupts(s.eventIdx);
    signalEventfd(inst.kickFds[0]!);
    loop.round(false);
  }

  /** Reads, writes and flushes of 4 KiB at queue depths 1 to 4. */
  private blkRound(inst: Instance): void {
    const q = inst.drivers[0]!;
    const depth = 1 + (inst.rounds % 4);
    for (let slot = 0; slot < depth; slot++) {
      const at = inst.data + slot * (BLOCK + 64);
      const n = inst.rounds * 4 + slot;
      const type = n % 16 === 15 ? 4 : n % 4 === 1 ? 1 : 0; // FLUSH (slot 3 of some rounds), OUT (slot 1), IN
      // Every 32nd request reads past the end of the disk: the I/O error path is warm too.
      const sector = n % 32 === 13 ? WARM.DISK / 512 : ((n * 7) % (WARM.DISK / BLOCK)) * (BLOCK / 512);
      this.memory.writeU32(at + BLOCK, type);
      this.memory.writeU32(at + BLOCK + 8, sector);
      if (type === 4) q.post(slot, [[at + BLOCK, 16, false], [at + BLOCK + 32, 1, true]]);
      else q.post(slot, [[at + BLOCK, 16, false], [at, BLOCK, type === 0], [at + BLOCK + 32, 1, true]]);
    }
    q.enableInterrupts(inst.s.eventIdx);
    signalEventfd(inst.kickFds[0]!);
    inst.loop.round(false);
    q.take(() => {});
  }
}

/**
 * Makes everything the warm-up of a `kind` device like `real` needs (fds,
 * memory, one synthetic device per scenario, activated) and returns it.
 */
export function prepareWarmUp(kind: VirtioKind<VirtioBackendSpec>, real: VirtioDeviceSpec, rounds: number = WARM_ROUNDS[real.backend.kind]): WarmUp {
  const numQueues = real.numQueues;
  const net = real.backend.kind === 'net';
  const memory = new GuestMemory([{ gpa: WARM.GPA, buffer: new ArrayBuffer(WARM.RAM) }]);
  const fds: number[] = [];
  const quiet = (): void => {};
  let disk = -1;
  if (!net) {
    disk = native.memfdCreate('tsvmm-warm-up', MFD.CLOEXEC);
    native.ftruncate(disk, WARM.DISK);
    fds.push(disk);
  }
  const instances = SCENARIOS.map((s, n): Instance => {
    const mine = { slot: real.slot, control: new SharedArrayBuffer(16), controlFd: eventfd(), kickFds: Array.from({ length: numQueues }, eventfd), msiFds: Array.from({ length: numQueues + 1 }, eventfd), intxFd: eventfd(), intxResampleFd: eventfd() };
    fds.push(mine.controlFd, ...mine.kickFds, ...mine.msiFds, mine.intxFd, mine.intxResampleFd);
    let backend: VirtioBackendSpec;
    let peer = -1;
    if (net) {
      const [a, b] = native.socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK);
      fds.push(a, b);
      backend = { kind: 'net', tapFd: a, tapName: '(warm-up)', mac: [2, 0, 0, 0, 0, 1] };
      peer = b;
    } else {
      backend = { kind: 'blk', fd: disk, size: WARM.DISK, readOnly: false, serial: 'warm-up' };
    }
    const state = createSharedState(numQueues, true);
    const counters = new Float64Array(DEVICE_METRIC_SLOTS);
    const sink = irqfdSink(mine, state, counters);
    const runtime = kind.createQueueRuntime(backend, { memory, state, sink, numQueues, log: quiet, counters }, { configureTap: quiet });
    const loop = new DeviceLoop(mine, runtime, state, sink, counters, quiet);
    const data = WARM.DATA + n * WARM.DATA_STRIDE;
    const inst: Instance = { s, n, net, numQueues, state, control: mine.control, controlFd: mine.controlFd, kickFds: mine.kickFds, runtime, loop, drivers: [], peer, data, free: [], rounds: 0, counters, windowMs: 0, windowRounds: 0, best: Infinity, quiet: 0 };
    activate(inst, memory);
    return inst;
  });
  return new WarmUp(instances, fds, memory, rounds);
}

/** Counts a timed round of `inst` towards its settling (WARM_SETTLE). */
function settle(inst: Instance, ms: number): void {
  inst.windowMs += ms;
  if (++inst.windowRounds < WARM_SETTLE.WINDOW) return;
  const w = inst.windowMs;
  inst.windowMs = 0;
  inst.windowRounds = 0;
  if (w * WARM_SETTLE.FASTER < inst.best || w > inst.best * WARM_SETTLE.SLOWER) inst.quiet = 0;
  else inst.quiet++;
  inst.best = Math.min(inst.best, w);
}

/** What the transport and a driver do at DRIVER_OK: state, rings, receive buffers; then the loop activates the runtime. */
function activate(inst: Instance, memory: GuestMemory): void {
  const { s, n, net, numQueues, state, data } = inst;
  // A driver (re)allocating its rings hands the device zeroed memory: stale indices would read as a broken ring.
  for (let q = 0; q < numQueues; q++) memory.slice(warmLayout(n, q, s.packed, s.size).desc, WARM.RING_STRIDE).fill(0);
  state.fill(0);
  configureState(state, numQueues, s, n, net);
  Atomics.or(state, SHARED.STATUS, VIRTIO_STATUS.DRIVER_OK);
  signalEventfd(inst.controlFd);
  inst.loop.round(false);
  inst.drivers = Array.from({ length: numQueues }, (_, q) => new WarmDriver(memory, warmLayout(n, q, s.packed, s.size), s.packed, net ? s.perSlot : 3));
  if (!net) return;
  const [rx, tx] = inst.drivers as [WarmDriver, WarmDriver];
  for (let slot = 0; slot < rx.slots; slot++) rx.post(slot, [[data + slot * WARM.SLOT, WARM.SLOT, true]]);
  rx.enableInterrupts(s.eventIdx);
  signalEventfd(inst.kickFds[0]!);
  inst.loop.round(false);
  inst.free.length = 0;
  for (let slot = tx.slots - 1; slot >= 0; slot--) inst.free.push(slot);
  const frame = new Uint8Array(VNET_HDR + FRAME);
  frame.fill(0xff, VNET_HDR, VNET_HDR + 6);
  frame[6] = 34; // csum_start, csum_offset: inside the frame (for NEEDS_CSUM)
  frame[8] = 16;
  frame[VNET_HDR + 12] = 0x88;
  frame[VNET_HDR + 13] = 0xb5;
  for (let slot = 0; slot < tx.slots; slot++) memory.write(data + (rx.slots + slot) * WARM.SLOT, frame);
}
