// virtio-pci's BAR 0 layout and the PCI capabilities that describe it to the
// driver (virtio 1.2 §4.1.4): common, notify, ISR and device configuration,
// and the VIRTIO_PCI_CAP_PCI_CFG window into the BAR through configuration
// space (§4.1.4.9). The transport (pci_transport.ts) adds them at
// construction and serves the window's accesses.
import type { PciConfigSpace } from '../../pci/config_space.js';
import { PCI_CAP_ID } from '../../pci/constants.js';
import { VIRTIO_PCI_CAP } from './constants.js';

/** BAR 0 layout (ours; the capabilities tell the driver). */
export const VIRTIO_BAR = {
  INDEX: 0,
  SIZE: 0x8000,
  COMMON: 0x0000,
  ISR: 0x1000,
  DEVICE: 0x2000,
  NOTIFY: 0x3000,
  NOTIFY_MULTIPLIER: 4,
  MSIX_TABLE: 0x4000,
  MSIX_PBA: 0x6000,
  REGION: 0x1000,
  /** Queues that fit the notify region, and vectors (queues + config) the table holds. */
  MAX_QUEUES: 256,
} as const;

// struct virtio_pci_cap (§4.1.4): cap_len, cfg_type, bar, id, pad[2], offset, length [, extra].
function capBody(type: number, offset: number, length: number, extra: number | undefined, total: number): Uint8Array {
  const body = new Uint8Array(total - 2);
  const v = new DataView(body.buffer);
  body[0] = total;
  body[1] = type;
  body[2] = VIRTIO_BAR.INDEX;
  v.setUint32(6, offset, true);
  v.setUint32(10, length, true);
  if (extra !== undefined) v.setUint32(14, extra, true);
  return body;
}

/** A capability of `type` for the BAR 0 region [offset, offset + length); `multiplier` makes it the notify capability. */
export function addVirtioCapability(config: PciConfigSpace, type: number, offset: number, length: number, multiplier?: number): void {
  const total = multiplier === undefined ? VIRTIO_PCI_CAP.LENGTH : VIRTIO_PCI_CAP.NOTIFY_LENGTH;
  config.addCapability(PCI_CAP_ID.VENDOR, capBody(type, offset, length, multiplier, total));
}

/** The pci_cfg_data field: bytes 16..19 of the capability. */
const DATA = 16;

/**
 * VIRTIO_PCI_CAP_PCI_CFG: the driver writes bar/offset/length, then reads or
 * writes pci_cfg_data; `access` runs for each access to the data field.
 * Returns the capability's offset in configuration space.
 */
export function addPciCfgCapability(config: PciConfigSpace, access: (isWrite: boolean) => void): number {
  const total = VIRTIO_PCI_CAP.PCI_CFG_LENGTH;
  const mask = new Uint8Array(total);
  mask[4] = 0xff; // bar
  mask.fill(0xff, 8, 20); // offset, length, data
  return config.addCapability(PCI_CAP_ID.VENDOR, capBody(VIRTIO_PCI_CAP.PCI_CFG, 0, 0, 0, total), {
    writeMask: mask,
    beforeRead: (off, size) => {
      if (off < DATA + 4 && off + size > DATA) access(false);
    },
    afterWrite: (off, size) => {
      if (off < DATA + 4 && off + size > DATA) access(true);
    },
  });
}

/**
 * The BAR access the capability at `cap` asks for: offset and length in BAR 0
 * and, for a write, the value; undefined when it names no valid access
 * (§4.1.4.9.1: length 1, 2 or 4, offset aligned to it; otherwise nothing happens).
 */
export function pciCfgWindow(config: PciConfigSpace, cap: number): { offset: number; length: number; value: number } | undefined {
  const bar = config.get8(cap + 4);
  const offset = config.get32(cap + 8);
  const length = config.get32(cap + 12);
  if (bar !== VIRTIO_BAR.INDEX || (length !== 1 && length !== 2 && length !== 4) || offset % length !== 0 || offset + length > VIRTIO_BAR.SIZE) return undefined;
  return { offset, length, value: config.get32(cap + DATA) & (length === 4 ? 0xffffffff : (1 << (length * 8)) - 1) };
}

/** Stores what a read through the window found into pci_cfg_data. */
export function setPciCfgData(config: PciConfigSpace, cap: number, value: number): void {
  config.set32(cap + DATA, value);
}
