// The worker-thread loop body for virtio-net: one RX/TX queue pair over a
// TAP (any PacketIo). It wraps rx.ts and tx.ts with what every virtio queue
// handler does: interrupt the driver after a batch if it asked, and turn a
// broken ring (VirtqueueError) into DEVICE_NEEDS_RESET with a configuration
// interrupt, after which that queue is no longer served until reset.
//
// Contract with its runtime (runtime.ts) and the device worker
// (../worker.ts), which owns the fds:
// - At DRIVER_OK: configureTap(tapFd, features) (tap.ts), build both queues
//   (createQueue), construct this handler, then call processTx() and
//   processRx() once (kicks may have come before activation).
// - poll() on: the control eventfd, the RX kick (ioeventfd of queue 0), the
//   TX kick (queue 1), the INTx resample fd, and the TAP fd, for POLLIN
//   while `wantsFrames` and POLLOUT while `wantsRoom` (tapEvents() as poll
//   bits), recomputed after every round; neither: leave the TAP out (poll
//   ignores fd -1): a TAP left with POLLIN while RX is starved would wake
//   the worker forever.
//     wantsFrames: RX holds guest buffers (it is waiting for frames), not
//                  when the driver gave none; frames then wait in the TAP
//                  until an RX kick.
//     wantsRoom:   TX has a frame the TAP had no room for.
// - RX kick or TAP POLLIN  -> processRx().
//   TX kick or TAP POLLOUT -> processTx().
//   TAP POLLERR/POLLHUP/POLLNVAL: the TAP is gone; log and stop polling it.
// - Poll timeout: 0 while `busy` (TX or RX stopped at its budget of
//   queue-size chains or buffers with work left, and the driver will not
//   kick for it), then resume(); else -1.
// - RX never blocks TX: both directions are non-blocking, RX stops after a
//   budget of frames (the TAP stays readable, so poll returns at once and
//   pending kicks are seen), and RX starvation only stops RX. NetRx and
//   NetTx share only the TAP fd and the (Atomics-based) interrupt sink, so
//   they could also run on two threads.
// - Reset: drop the handler. Buffers RX held belong to the old rings; the
//   driver reclaims them by resetting (§2.1.2).
import type { GuestMemory } from '../../../memory/guest_memory.js';
import { POLL } from '../../../native/linux.js';
import { featureBit } from '../constants.js';
import type { InterruptSink } from '../device.js';
import { VirtqueueError, type Virtqueue } from '../queue.js';
import { markNeedsReset, queueVector } from '../shared_state.js';
import { ETH, VIRTIO_NET_F, VIRTIO_NET_QUEUE } from './constants.js';
import { vnetHeaderSize } from './header.js';
import type { PacketIo } from './packet_io.js';
import { NetRx, type RxStats } from './rx.js';
import { NetTx, type TxStats } from './tx.js';

/** Guest buffers to gather before a read when the guest takes 64 KiB GSO frames. */
const GSO_GATHER = 65536 + ETH.HLEN + ETH.VLAN_HLEN;

export class NetQueueHandler {
  readonly rx: NetRx | null;
  readonly tx: NetTx | null;
  private rxBroken = false;
  private txBroken = false;

  constructor(
    mem: GuestMemory,
    private readonly rxQueue: Virtqueue | null,
    private readonly txQueue: Virtqueue | null,
    io: PacketIo,
    features: bigint,
    private readonly state: Int32Array,
    private readonly sink: InterruptSink,
    private readonly log: (line: string) => void = (line) => console.error(line),
  ) {
    const has = (bit: number): boolean => (features & featureBit(bit)) !== 0n;
    const headerSize = vnetHeaderSize(features);
    const gso = has(VIRTIO_NET_F.GUEST_TSO4) || has(VIRTIO_NET_F.GUEST_TSO6);
    this.rx =
      rxQueue === null
        ? null
        : new NetRx(mem, rxQueue, io, { headerSize, mergeable: has(VIRTIO_NET_F.MRG_RXBUF), ...(gso ? { gather: headerSize + GSO_GATHER } : {}), log });
    this.tx = txQueue === null ? null : new NetTx(mem, txQueue, io, { headerSize, features, log });
  }

  /** True once a ring was found unusable (until the device is reset and rebuilt). */
  get failed(): boolean {
    return this.rxBroken || this.txBroken;
  }

  /** TX or RX stopped at its budget with work left: poll with timeout 0 and call resume(). */
  get busy(): boolean {
    return (!this.txBroken && this.tx !== null && this.tx.more) || (!this.rxBroken && this.rx !== null && this.rx.more);
  }

  /** After a budget stop: carries on where TX and RX stopped. */
  resume(): void {
    if (this.tx !== null && this.tx.more) this.processTx();
    if (this.rx !== null && this.rx.more) this.processRx();
  }

  /** RX holds guest buffers and waits for frames: poll the TAP for POLLIN. */
  get wantsFrames(): boolean {
    const rx = this.rx;
    return rx !== null && !this.rxBroken && !rx.starved && !rx.closed;
  }

  /** TX holds a frame the TAP had no room for: poll the TAP for POLLOUT. */
  get wantsRoom(): boolean {
    return this.tx !== null && !this.txBroken && this.tx.blocked;
  }

  /** poll(2) events to wait for on the TAP fd now; 0: leave the TAP out of poll. */
  tapEvents(): number {
    return (this.wantsFrames ? POLL.IN : 0) | (this.wantsRoom ? POLL.OUT : 0);
  }

  /** After an RX kick or TAP POLLIN. Returns the buffers returned to the driver. */
  processRx(): number {
    const { rx, rxQueue } = this;
    if (rx === null || rxQueue === null || this.rxBroken) return 0;
    let completed = 0;
    try {
      completed = rx.process();
    } catch (err) {
      if (!(err instanceof VirtqueueError)) throw err;
      this.rxBroken = true;
      this.fail(VIRTIO_NET_QUEUE.RX, err);
    }
    if (completed > 0 && rxQueue.needsInterrupt()) this.sink.queue(queueVector(this.state, VIRTIO_NET_QUEUE.RX));
    return completed;
  }

  /** After a TX kick or TAP POLLOUT. Returns the buffers returned to the driver. */
  processTx(): number {
    const { tx, txQueue } = this;
    if (tx === null || txQueue === null || this.txBroken) return 0;
    let completed = 0;
    try {
      completed = tx.process();
    } catch (err) {
      if (!(err instanceof VirtqueueError)) throw err;
      this.txBroken = true;
      this.fail(VIRTIO_NET_QUEUE.TX, err);
    }
    if (completed > 0 && txQueue.needsInterrupt()) this.sink.queue(queueVector(this.state, VIRTIO_NET_QUEUE.TX));
    return completed;
  }

  stats(): { rx: RxStats | null; tx: TxStats | null } {
    return { rx: this.rx?.stats ?? null, tx: this.tx?.stats ?? null };
  }

  private fail(queue: number, err: VirtqueueError): void {
    this.log(`virtio-net: queue ${queue} unusable, device needs reset: ${err.message}`);
    markNeedsReset(this.state, this.sink);
  }
}
