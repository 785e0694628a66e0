// What a VM is made of, as plain data: the one input of the builder
// (vmm.ts). The CLI (cli/args.ts), a Firecracker config file or API socket
// (api/firecracker/) and the library API (api/) each produce one; nothing
// below vmm/ imports any of them. It crosses process boundaries as JSON, so
// it holds only strings, numbers, booleans and arrays of them.

import type { CpuTemplate } from '../arch/arch.js';
import { TsvmmError } from '../base/errors.js';

export type { CpuTemplate };
export type SeccompMode = 'off' | 'kill' | 'log';

export interface DiskConfig {
  /** Raw image file (never created, truncated or resized). */
  readonly path: string;
  readonly readOnly: boolean;
}

export interface NetConfig {
  /** TAP name, or undefined to let the kernel pick one from the `tap%d` template. */
  readonly tap: string | undefined;
  /** Guest MAC as `xx:xx:xx:xx:xx:xx`, or undefined for a stable one derived from the TAP's name. */
  readonly mac: string | undefined;
}

export interface VmConfig {
  readonly kernel: string;
  readonly initrd: string | undefined;
  /** Appended to the architecture's base command line (console, panic, ...). */
  readonly append: string | undefined;
  readonly memoryBytes: number;
  /** Number of vCPUs (1..MAX_VCPUS). */
  readonly cpus: number;
  readonly disks: readonly DiskConfig[];
  readonly nets: readonly NetConfig[];
  readonly seccomp: SeccompMode;
  readonly cpuTemplate: CpuTemplate | undefined;
}

/** Smallest RAM a guest can have; below this no kernel we load fits. */
export const MIN_MEMORY = 16 * 1024 * 1024;
export const DEFAULT_MEMORY = 1024 * 1024 * 1024;
/** Most vCPUs a VM may have (Firecracker's limit too); KVM_CAP_MAX_VCPUS may lower it. */
export const MAX_VCPUS = 32;

/** A config with the defaults for everything but the kernel. */
export function defaultConfig(kernel: string): VmConfig {
  return {
    kernel,
    initrd: undefined,
    append: undefined,
    memoryBytes: DEFAULT_MEMORY,
    cpus: 1,
    disks: [],
    nets: [],
    seccomp: 'off',
    cpuTemplate: undefined,
  };
}

/** The configuration asks for what this host cannot give (found at run time): the CLI exits 2, as for a bad argument. */
export class ConfigError extends TsvmmError {}
