// PCI bus 0: up to 32 single-function devices, with a host bridge at 00:00.0.
//
// Seams: runs on the vCPU thread. Configuration accesses arrive here by
// (bus, device, function, register) from config_io.ts (x86 mechanism #1) or
// ecam.ts (a memory-mapped window, for aarch64), which only decode addresses.
// Absent devices read as all ones, which is how the guest learns a slot is
// empty (PCI 3.0 6.1: vendor id 0xFFFF). Only function 0 of each slot exists.
import { PciConfigSpace } from './config_space.js';
import { PCI_CLASS, PCI_DEVICE_REDHAT_HOST_BRIDGE, PCI_FUNCTIONS, PCI_SLOTS, PCI_VENDOR_REDHAT } from './constants.js';
import { TsvmmError } from '../base/errors.js';

/** Anything with a configuration space: PciConfigSpace, or a device wrapping one. */
export interface PciFunction {
  configRead(reg: number, size: number): number;
  configWrite(reg: number, size: number, value: number): void;
}

export class PciBusError extends TsvmmError {}

/** Adapts a bare PciConfigSpace to PciFunction. */
export function configFunction(config: PciConfigSpace): PciFunction {
  return {
    configRead: (reg, size) => config.read(reg, size),
    configWrite: (reg, size, value) => config.write(reg, size, value),
  };
}

/** The host bridge's configuration space (class 06/00/00, no BARs, no interrupt). */
export function createHostBridge(): PciConfigSpace {
  return new PciConfigSpace({ vendorId: PCI_VENDOR_REDHAT, deviceId: PCI_DEVICE_REDHAT_HOST_BRIDGE, classCode: PCI_CLASS.BRIDGE_HOST });
}

function allOnes(size: number): number {
  return size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
}

export class PciBus {
  private readonly slots: Array<PciFunction | undefined> = new Array<PciFunction | undefined>(PCI_SLOTS).fill(undefined);
  readonly hostBridge: PciConfigSpace;

  constructor() {
    this.hostBridge = createHostBridge();
    this.slots[0] = configFunction(this.hostBridge);
  }

  /** Places `fn` in `slot`, or in the first free slot; returns the slot number. */
  add(fn: PciFunction, slot?: number): number {
    const s = slot ?? this.slots.findIndex((d) => d === undefined);
    if (s < 0) throw new PciBusError('PCI bus 0 is full');
    if (!Number.isInteger(s) || s >= PCI_SLOTS) throw new PciBusError(`PCI slot ${s} out of range 0..${PCI_SLOTS - 1}`);
    if (this.slots[s] !== undefined) throw new PciBusError(`PCI slot ${s} is taken`);
    this.slots[s] = fn;
    return s;
  }

  private lookup(bus: number, device: number, fn: number): PciFunction | undefined {
    if (bus !== 0 || fn !== 0 || device < 0 || device >= PCI_SLOTS || fn >= PCI_FUNCTIONS) return undefined;
    return this.slots[device];
  }

  configRead(bus: number, device: number, fn: number, reg: number, size: number): number {
    const d = this.lookup(bus, device, fn);
    return d === undefined ? allOnes(size) : d.configRead(reg, size);
  }

  configWrite(bus: number, device: number, fn: number, reg: number, size: number, value: number): void {
    this.lookup(bus, device, fn)?.configWrite(reg, size, value);
  }
}
