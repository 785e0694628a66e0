// The vCPU-thread side of a virtio-pci device: implements the transport's
// TransportHost with KVM. BAR moves re-register the MMIO range and the
// queues' ioeventfds; MSI-X vectors become GSI routes with an irqfd each
// (detached while masked, so a masked vector's interrupt waits in its eventfd
// and is delivered when KVM re-attaches it); reset waits for the device
// worker to let go of the queues.
import type { Bus } from '../../bus/bus.js';
import type { GsiRouter } from '../../kvm/gsi_router.js';
import type { VmFd } from '../../kvm/vm.js';
import { signalEventfd } from '../../native/eventfd.js';
import type { MsixRoute } from '../../pci/msix.js';
import type { TransportHost, VirtioPciTransport } from './pci_transport.js';
import { CONTROL_WORD, type VirtioDeviceSpec } from './spec.js';

/** How long a reset may wait for the device worker (it finishes the request in flight). */
const RESET_TIMEOUT_MS = 5000;

export class VirtioPciHost implements TransportHost {
  private transport: VirtioPciTransport | undefined;
  private mappedAt: number | null = null;
  private readonly msiGsiBase: number;
  private readonly attached: boolean[];
  private readonly control: Int32Array;

  constructor(
    private readonly vm: VmFd,
    private readonly mmio: Bus,
    private readonly router: GsiRouter,
    private readonly spec: VirtioDeviceSpec,
    private readonly log: (line: string) => void,
  ) {
    this.msiGsiBase = router.allocate(spec.msiFds.length);
    this.attached = spec.msiFds.map(() => false);
    this.control = new Int32Array(spec.control);
  }

  attach(transport: VirtioPciTransport): void {
    this.transport = transport;
  }

  barMapped(bar: number, gpa: number | null): void {
    const t = this.transport;
    if (bar !== 0 || t === undefined) return;
    if (this.mappedAt !== null) {
      this.mmio.unregister(this.mappedAt, t);
      this.spec.kickFds.forEach((fd, q) => this.vm.ioeventfd(fd, this.mappedAt! + t.notifyOffset(q), 2, { deassign: true }));
    }
    this.mappedAt = gpa;
    if (gpa !== null) {
      this.mmio.register(gpa, t.config.barSize(0), t);
      this.spec.kickFds.forEach((fd, q) => this.vm.ioeventfd(fd, gpa + t.notifyOffset(q), 2));
    }
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
