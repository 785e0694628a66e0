// Every fuzz target, for the soak (main.ts). Each module's targets live in
// its *.fuzz.ts beside it and run in the unit tests from *.fuzz.test.ts.
import { QUEUE_TARGETS } from '../devices/virtio/queue.fuzz.js';
import { QUEUE_ROUNDTRIP_TARGETS } from '../devices/virtio/queue_roundtrip.fuzz.js';
import { TRANSPORT_TARGETS } from '../devices/virtio/pci_transport.fuzz.js';
import { PCI_TARGETS } from '../pci/pci.fuzz.js';
import { SERIAL_TARGETS } from '../devices/legacy/serial8250.fuzz.js';
import { BLOCK_TARGETS } from '../devices/virtio/block/block.fuzz.js';
import { NET_TARGETS } from '../devices/virtio/net/net.fuzz.js';
import { LOADER_TARGETS } from '../loader/loader.fuzz.js';
import type { FuzzTarget } from './target.js';

export const ALL_TARGETS: readonly FuzzTarget[] = [...QUEUE_TARGETS, ...QUEUE_ROUNDTRIP_TARGETS, ...TRANSPORT_TARGETS, ...PCI_TARGETS, ...SERIAL_TARGETS, ...BLOCK_TARGETS, ...NET_TARGETS, ...LOADER_TARGETS];
