// Picks the architecture implementation: the host's, or one by name (the
// vCPU worker is told which). Only the one in use is loaded: a VMM process
// and each of its workers compile their modules at start-up, and the other
// architecture's are dead weight there.
import type { Arch, ArchName, MachineArch } from './arch.js';
import { TsvmmError } from '../base/errors.js';

export class UnsupportedHostError extends TsvmmError {}

export async function loadArch(name: ArchName): Promise<Arch> {
  return name === 'x86_64' ? (await import('./x86_64/index.js')).x86_64 : (await import('./aarch64/index.js')).aarch64;
}

/** Only the vCPU thread's part of architecture `name` (its machine.ts). */
export async function loadMachineArch(name: ArchName): Promise<MachineArch> {
  return name === 'x86_64' ? (await import('./x86_64/machine.js')).x86_64Machine : (await import('./aarch64/machine.js')).aarch64Machine;
}

export function hostArchName(nodeArch: string = process.arch): ArchName {
  if (nodeArch === 'x64') return 'x86_64';
  if (nodeArch === 'arm64') return 'aarch64';
  throw new UnsupportedHostError(`tsvmm runs on x86_64 and aarch64 hosts, not ${nodeArch}`);
}

export function hostArch(nodeArch: string = process.arch): Promise<Arch> {
  return loadArch(hostArchName(nodeArch));
}
