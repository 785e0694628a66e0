// The VM's GSI routing table. KVM_SET_GSI_ROUTING replaces the whole table,
// including the default irqchip routes, so this keeps the architecture's
// defaults and adds one MSI route per MSI-X vector that devices allocate.
import type { GsiRoute, VmFd } from './vm.js';

export class GsiRouter {
  private readonly msi = new Map<number, GsiRoute>();
  private nextGsi: number;

  constructor(
    private readonly vm: Pick<VmFd, 'setGsiRouting'>,
    private readonly defaults: readonly GsiRoute[],
    firstMsiGsi: number,
  ) {
    this.nextGsi = firstMsiGsi;
  }

  /** Reserves `count` consecutive GSIs for MSI routes; returns the first. */
  allocate(count: number): number {
    const first = this.nextGsi;
    this.nextGsi += count;
    return first;
  }

  /** Points `gsi` at an MSI message and applies the table. */
  setMsi(gsi: number, addressLo: number, addressHi: number, data: number): void {
    this.msi.set(gsi, { gsi, kind: 'msi', addressLo, addressHi, data });
    this.apply();
  }

  removeMsi(gsi: number): void {
    if (this.msi.delete(gsi)) this.apply();
  }

  routes(): GsiRoute[] {
    return [...this.defaults, ...this.msi.values()];
  }

  private apply(): void {
    this.vm.setGsiRouting(this.routes());
  }
}
