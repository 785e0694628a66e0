// PCI configuration-space offsets and bits.
// Sources: PCI Local Bus Specification 3.0, section 6.1 (type 0 header),
// 6.2.2 (command), 6.2.3 (status), 6.2.5.1 (BARs), 6.7 (capabilities),
// 6.8.2 (MSI-X); Linux include/uapi/linux/pci_regs.h uses the same values.

/** Type 0 header register offsets (PCI 3.0 figure 6-1). */
export const PCI_REG = {
  VENDOR_ID: 0x00,
  DEVICE_ID: 0x02,
  COMMAND: 0x04,
  STATUS: 0x06,
  REVISION: 0x08,
  PROG_IF: 0x09,
  SUBCLASS: 0x0a,
  CLASS: 0x0b,
  CACHE_LINE_SIZE: 0x0c,
  LATENCY_TIMER: 0x0d,
  HEADER_TYPE: 0x0e,
  BAR0: 0x10,
  SUBSYSTEM_VENDOR_ID: 0x2c,
  SUBSYSTEM_ID: 0x2e,
  ROM_ADDRESS: 0x30,
  CAPABILITIES: 0x34,
  INTERRUPT_LINE: 0x3c,
  INTERRUPT_PIN: 0x3d,
} as const;

/** Size of the conventional configuration space; PCIe extends it to 4 KiB. */
export const PCI_CONFIG_SIZE = 256;
export const PCIE_CONFIG_SIZE = 4096;
/** Capabilities start after the 64-byte header (PCI 3.0 6.7). */
export const PCI_CAP_START = 0x40;
/** Number of BARs in a type 0 header. */
export const PCI_BAR_COUNT = 6;

/** Command register bits (PCI 3.0 6.2.2). */
export const PCI_COMMAND = {
  IO: 1 << 0,
  MEMORY: 1 << 1,
  BUS_MASTER: 1 << 2,
  PARITY: 1 << 6,
  SERR: 1 << 8,
  INTX_DISABLE: 1 << 10,
} as const;

/** Status register bits (PCI 3.0 6.2.3). */
export const PCI_STATUS = {
  INTERRUPT: 1 << 3,
  CAP_LIST: 1 << 4,
  /** Error bits are write-one-to-clear. */
  W1C_MASK: 0xf900,
} as const;

/** Low bits of a BAR (PCI 3.0 6.2.5.1). */
export const PCI_BAR = {
  IO_SPACE: 0x1,
  MEM_TYPE_64: 0x4,
  MEM_PREFETCH: 0x8,
  MEM_FLAGS_MASK: 0xf,
  IO_FLAGS_MASK: 0x3,
} as const;

/** Header type values (PCI 3.0 6.2.1). */
export const PCI_HEADER_TYPE_NORMAL = 0x00;

/** Capability ids (PCI Code and ID Assignment spec 1.11, section 2). */
export const PCI_CAP_ID = {
  MSI: 0x05,
  VENDOR: 0x09,
  MSIX: 0x11,
} as const;

/** Interrupt pin values (PCI 3.0 6.2.4): 0 none, 1..4 INTA..INTD. */
export const PCI_INTERRUPT_PIN = { NONE: 0, INTA: 1 } as const;

/** Class codes used here (PCI Code and ID Assignment spec 1.11, section 1). */
export const PCI_CLASS = {
  BRIDGE_HOST: 0x060000,
  STORAGE_SCSI: 0x010000,
  NETWORK_ETHERNET: 0x020000,
  OTHER: 0xff0000,
} as const;

/** Red Hat's vendor id and its generic PCIe host bridge (QEMU docs/specs/pci-ids.rst). */
export const PCI_VENDOR_REDHAT = 0x1b36;
export const PCI_DEVICE_REDHAT_HOST_BRIDGE = 0x0008;

/** Configuration mechanism #1 ports (PCI 3.0 3.2.2.3.2). */
export const PCI_CONFIG_IO = {
  ADDRESS_PORT: 0xcf8,
  DATA_PORT: 0xcfc,
  /** Both registers: 0xCF8..0xCFF. */
  LENGTH: 8,
  ENABLE: 0x8000_0000,
} as const;

/** Devices per bus and functions per device (PCI 3.0 3.2.2.3.1). */
export const PCI_SLOTS = 32;
export const PCI_FUNCTIONS = 8;
