// Picks the architecture implementation: the host's, or one by name (the
// vCPU worker is told which).
import type { Arch, ArchName } from './arch.js';
import { x86_64 } from './x86_64/index.js';
import { aarch64 } from './aarch64/index.js';

export class UnsupportedHostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedHostError';
  }
}

export function archByName(name: ArchName): Arch {
  return name === 'x86_64' ? x86_64 : aarch64;
}

export function hostArch(nodeArch: string = process.arch): Arch {
  if (nodeArch === 'x64') return x86_64;
  if (nodeArch === 'arm64') return aarch64;
  throw new UnsupportedHostError(`tsvmm runs on x86_64 and aarch64 hosts, not ${nodeArch}`);
}
