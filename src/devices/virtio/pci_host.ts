// The vCPU-thread side of a virtio-pci device: implements the transport's
// TransportHost with KVM. BAR moves go through the machine's BarSpace, which
// decodes BAR 0 (its MMIO range and the queues' ioeventfds) only where it
// overlaps nothing; MSI-X vectors become GSI routes with an irqfd each
// (detached while masked, so a masked vector's interrupt waits in its eventfd
// and is delivered when KVM re-attaches it); reset waits for the device
// worker to let go of the queues.
import type { Bus } from '../../bus/bus.js';
import type { GsiRouter } from '../../kvm/gsi_router.js';
import type { VmFd } from '../../kvm/vm.js';
import { signalEventfd } from '../../native/eventfd.js';
import type { BarMapping, BarSpace } from '../../pci/bar_space.js';
import type { MsixRoute } from '../../pci/msix.js';
import type { TransportHost, VirtioPciTransport } from './pci_transport.js';
import { CONTROL_WORD, type VirtioDeviceSpec } from './spec.js';

/** How long a reset may wait for the device worker (it finishes the request in flight). */
const RESET_TIMEOUT_MS = 5000;

/** The VM ioctls a device's host side makes (a fake in tests). */
export type VirtioHostVm = Pick<VmFd, 'ioeventfd' | 'irqfd'>;

/** Queue notifications are 2-byte writes of the queue index (virtio 1.2 §4.1.5.2). */
const NOTIFY_WIDTH = 2;

export class VirtioPciHost implements TransportHost {
  private transport: VirtioPciTransport | undefined;
  private readonly msiGsiBase: number;
  private readonly attached: boolean[];
  private readonly control: Int32Array;
  /** BAR 0 as the BarSpace places it: the transport's registers and the queues' ioeventfds. */
  private readonly bar0: BarMapping;

  constructor(
    private readonly vm: VirtioHostVm,
    private readonly mmio: Bus,
    private readonly bars: BarSpace,
    private readonly router: GsiRouter,
    private readonly spec: VirtioDeviceSpec,
    private readonly log: (line: string) => void,
  ) {
    this.msiGsiBase = router.allocate(spec.msiFds.length);
    this.attached = spec.msiFds.map(() => false);
    this.control = new Int32Array(spec.control);
    const host = this;
    this.bar0 = {
      label: `PCI slot ${spec.slot} BAR 0`,
      get size(): number {
        return host.attachedTransport().config.barSize(0);
      },
      map: (gpa) => this.mapBar0(gpa),
      unmap: (gpa) => this.unmapBar0(gpa),
    };
  }

  attach(transport: VirtioPciTransport): void {
    this.transport = transport;
  }

  barMapped(bar: number, gpa: number | null): void {
    if (bar !== 0 || this.transport === undefined) return;
    this.bars.place(this.bar0, gpa);
  }

  private attachedTransport(): VirtioPciTransport {
    if (this.transport === undefined) throw new Error(`virtio device in slot ${this.spec.slot} has no transport`);
    return this.transport;
  }

  /** The MMIO range, then one ioeventfd per queue; on a failure, what was done is undone. */
  private mapBar0(gpa: number): void {
    const t = this.attachedTransport();
    this.mmio.register(gpa, t.config.barSize(0), t);
    let q = 0;
    try {
      for (; q < this.spec.kickFds.length; q++) this.vm.ioeventfd(this.spec.kickFds[q]!, gpa + t.notifyOffset(q), NOTIFY_WIDTH);
    } catch (err) {
      for (let i = 0; i < q; i++) this.vm.ioeventfd(this.spec.kickFds[i]!, gpa + t.notifyOffset(i), NOTIFY_WIDTH, { deassign: true });
      this.mmio.unregister(gpa, t);
      throw err;
    }
  }

  private unmapBar0(gpa: number): void {
    const t = this.attachedTransport();
    this.mmio.unregister(gpa, t);
    this.spec.kickFds.forEach((fd, q) => this.vm.ioeventfd(fd, gpa + t.notifyOffset(q), NOTIFY_WIDTH, { deassign: true }));
  }

  msixRouteChanged(vector: number, route: MsixRoute): void {
    const fd = this.spec.msiFds[vector];
    if (fd === undefined) return;
    const gsi = this.msiGsiBase + vector;
    const live = !route.masked;
    if (live) {
      this.router.setMsi(gsi, route.address % 0x1_0000_0000, Math.floor(route.address / 0x1_0000_0000), route.data);
    }
    if (live && !this.attached[vector]) {
      this.vm.irqfd(fd, gsi);
      this.attached[vector] = true;
    } else if (!live && this.attached[vector]) {
      this.vm.irqfd(fd, gsi, { deassign: true });
      this.attached[vector] = false;
    }
  }

  activate(): void {
    signalEventfd(this.spec.controlFd);
  }

  reset(): void {
    const request = Atomics.add(this.control, CONTROL_WORD.RESET_REQUEST, 1) + 1;
    signalEventfd(this.spec.controlFd);
    const deadline = Date.now() + RESET_TIMEOUT_MS;
    while (Atomics.load(this.control, CONTROL_WORD.RESET_ACK) !== request) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.log(`virtio device in slot ${this.spec.slot}: the queue worker did not acknowledge a reset within ${RESET_TIMEOUT_MS} ms`);
        return;
      }
      Atomics.wait(this.control, CONTROL_WORD.RESET_ACK, Atomics.load(this.control, CONTROL_WORD.RESET_ACK), left);
    }
  }

  notify(queue: number): void {
    const fd = this.spec.kickFds[queue];
    if (fd !== undefined) signalEventfd(fd);
  }
}
