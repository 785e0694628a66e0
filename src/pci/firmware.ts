// What firmware (a BIOS, or UEFI's PCI bus driver) does to a PCI function
// before the OS runs, and Linux expects done on a machine without one:
// route its INTA# (the Interrupt Line register, PCI 3.0 6.2.4), place its
// BARs, and enable memory decoding (Command register bit 1, PCI 3.0 6.2.2).
// The guest may move the BARs later; that is the guest's business.
import type { PciConfigSpace } from './config_space.js';
import { PCI_COMMAND, PCI_REG } from './constants.js';

export interface FirmwareAssignment {
  /** BAR index -> guest-physical address (aligned to the BAR's size). */
  readonly bars: ReadonlyArray<readonly [index: number, address: number]>;
  /** The GSI the function's INTA# raises, for the Interrupt Line register. */
  readonly intxLine: number;
}

export function assignPciResources(config: PciConfigSpace, a: FirmwareAssignment): void {
  config.write(PCI_REG.INTERRUPT_LINE, 1, a.intxLine);
  for (const [index, address] of a.bars) config.setBarAddress(index, address);
  config.write(PCI_REG.COMMAND, 2, PCI_COMMAND.MEMORY);
}
