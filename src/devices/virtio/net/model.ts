// virtio-net's config model, for the vCPU side (the transport): what the
// platform loads for a NIC, without the queue runtime the device worker runs
// (runtime.ts).
import type { VirtioDevice } from '../device.js';
import { NetDevice } from './device.js';
import type { NetBackendSpec } from './spec.js';

export function netModel(b: NetBackendSpec): VirtioDevice {
  return new NetDevice({ mac: Uint8Array.from(b.mac) });
}
