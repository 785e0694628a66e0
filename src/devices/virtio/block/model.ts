// virtio-blk's config model, for the vCPU side (the transport): what the
// platform loads for a disk, without the queue runtime the device worker runs
// (runtime.ts).
import type { VirtioDevice } from '../device.js';
import { BlockDevice } from './device.js';
import type { BlockBackendSpec } from './spec.js';

export function blkModel(b: BlockBackendSpec, _log: (line: string) => void): VirtioDevice {
  return new BlockDevice({ size: b.size, readOnly: b.readOnly, serial: b.serial });
}
