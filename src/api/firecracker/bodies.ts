// The request bodies of the Firecracker API that tsvmm implements, parsed
// into typed values (parse, then act: nothing here changes any state). Field
// names, required fields and enums follow Firecracker's OpenAPI definitions
// (src/firecracker/swagger/firecracker.yaml: MachineConfiguration,
// BootSource, Drive, NetworkInterface, InstanceActionInfo, Vm). A field
// Firecracker knows but tsvmm cannot honour is refused by name unless it has
// its "off" value; a field Firecracker does not know is refused as unknown.
// The --config-file sections are the same objects and go through the same
// functions.

import { formatMac, MacError, parseMac } from '../../devices/virtio/net/mac.js';
import { MAX_VCPUS, MIN_MEMORY } from '../../vmm/config.js';
import { FieldError } from './errors.js';
import { Fields } from './fields.js';

export const MIB = 1024 * 1024;
/** Smallest mem_size_mib tsvmm boots (vmm/config.ts MIN_MEMORY). */
export const MIN_MEM_SIZE_MIB = MIN_MEMORY / MIB;
/** Longest TAP name: IFNAMSIZ (16, include/uapi/linux/if.h) less the NUL. */
export const MAX_TAP_NAME = 15;

/** Firecracker's static CPU templates (CpuTemplate enum); only "None" maps onto tsvmm (its default CPUID). */
const FC_CPU_TEMPLATES = ['C3', 'T2', 'T2S', 'T2CL', 'T2A', 'V1N1', 'None'] as const;
const FC_HUGE_PAGES = ['None', 'Transparent', '2M'] as const;
const FC_CACHE_TYPES = ['Unsafe', 'Writeback'] as const;
const FC_IO_ENGINES = ['Sync', 'Async'] as const;

export const ACTION_TYPES = ['InstanceStart', 'SendCtrlAltDel', 'FlushMetrics'] as const;
export type ActionType = (typeof ACTION_TYPES)[number];
export const VM_STATES = ['Paused', 'Resumed'] as const;
export type VmStateRequest = (typeof VM_STATES)[number];

export interface MachineConfig {
  readonly vcpuCount: number;
  readonly memSizeMib: number;
}

export interface BootSource {
  readonly kernelImagePath: string;
  readonly initrdPath: string | undefined;
  /** As given; pci=off is dropped later (see boot_args.ts). */
  readonly bootArgs: string | undefined;
}

export interface Drive {
  readonly driveId: string;
  readonly pathOnHost: string;
  readonly isRootDevice: boolean;
  readonly isReadOnly: boolean;
  /** Root device only: boot from this partition (`root=PARTUUID=...`) instead of the whole disk. */
  readonly partuuid: string | undefined;
}

export interface NetworkInterface {
  readonly ifaceId: string;
  readonly hostDevName: string;
  /** Lower-case `xx:xx:xx:xx:xx:xx`, or undefined for tsvmm's stable default. */
  readonly guestMac: string | undefined;
}

/** What a body parser needs to know about the host. */
export interface BodyLimits {
  /** Host RAM in bytes: a guest may not ask for more. */
  readonly hostMemoryBytes: number;
}

const MACHINE_FIELDS = ['vcpu_count', 'mem_size_mib', 'smt', 'track_dirty_pages', 'cpu_template', 'huge_pages'];

function maxMemSizeMib(limits: BodyLimits): number {
  return Math.max(MIN_MEM_SIZE_MIB, Math.floor(limits.hostMemoryBytes / MIB));
}

/** The fields both PUT and PATCH refuse unless they have their "off" value. */
function checkMachineUnsupported(f: Fields): void {
  f.unsupported('smt', 'it gives every vCPU a core of its own', [false]);
  f.unsupported('track_dirty_pages', 'it has no snapshots, so no dirty page tracking', [false]);
  f.unsupported('huge_pages', 'guest RAM is backed by ordinary pages', ['None']);
  const template = f.optionalEnum('cpu_template', FC_CPU_TEMPLATES);
  if (template !== undefined && template !== 'None') {
    throw new FieldError('cpu_template', `"${template}" is not supported by tsvmm (only None, which keeps KVM's host CPUID)`);
  }
}

/** PUT /machine-config: a full object; omitted optional fields reset to their defaults. */
export function parseMachineConfig(body: unknown, limits: BodyLimits): MachineConfig {
  const f = Fields.read(body, MACHINE_FIELDS);
  const vcpuCount = f.integer('vcpu_count', 1, MAX_VCPUS);
  const memSizeMib = f.integer('mem_size_mib', MIN_MEM_SIZE_MIB, maxMemSizeMib(limits));
  checkMachineUnsupported(f);
  return { vcpuCount, memSizeMib };
}

/** PATCH /machine-config: only the fields given change; an empty update is refused, as Firecracker does. */
export function parseMachineConfigPatch(body: unknown, limits: BodyLimits): Partial<MachineConfig> {
  const f = Fields.read(body, MACHINE_FIELDS);
  if (f.isEmpty()) throw new FieldError('body', 'empty PATCH request: give at least one machine-config field');
  const vcpuCount = f.optionalInteger('vcpu_count', 1, MAX_VCPUS);
  const memSizeMib = f.optionalInteger('mem_size_mib', MIN_MEM_SIZE_MIB, maxMemSizeMib(limits));
  checkMachineUnsupported(f);
  return { ...(vcpuCount !== undefined && { vcpuCount }), ...(memSizeMib !== undefined && { memSizeMib }) };
}

/** PUT /boot-source. */
export function parseBootSource(body: unknown): BootSource {
  const f = Fields.read(body, ['kernel_image_path', 'initrd_path', 'boot_args']);
  const kernelImagePath = nonEmpty('kernel_image_path', f.string('kernel_image_path'));
  const initrd = f.optionalString('initrd_path');
  return {
    kernelImagePath,
    initrdPath: initrd === undefined ? undefined : nonEmpty('initrd_path', initrd),
    bootArgs: f.optionalString('boot_args'),
  };
}

function nonEmpty(field: string, value: string): string {
  if (value === '') throw new FieldError(field, 'must not be empty');
  if (value.includes('\0')) throw new FieldError(field, 'must not contain a NUL byte');
  return value;
}

/**
 * A resource id (drive_id, iface_id): non-empty, letters, digits and `_`
 * only (Firecracker's checked_id).
 */
export function checkId(field: string, id: string): string {
  if (id === '') throw new FieldError(field, 'must not be empty');
  if (!/^[\p{L}\p{N}_]+$/u.test(id)) throw new FieldError(field, `"${id}" may contain only letters, digits and underscores`);
  return id;
}

const DRIVE_FIELDS = ['drive_id', 'path_on_host', 'is_root_device', 'is_read_only', 'partuuid', 'cache_type', 'rate_limiter', 'io_engine', 'socket'];

/** PUT /drives/{drive_id} (and one entry of the config file's `drives`). */
export function parseDrive(body: unknown): Drive {
  const f = Fields.read(body, DRIVE_FIELDS);
  const driveId = checkId('drive_id', f.string('drive_id'));
  f.unsupported('socket', 'it has no vhost-user-block; give path_on_host');
  f.unsupported('rate_limiter', 'it has no I/O rate limiting');
  const engine = f.optionalEnum('io_engine', FC_IO_ENGINES);
  if (engine === 'Async') throw new FieldError('io_engine', '"Async" is not supported by tsvmm (its block I/O is synchronous: use Sync)');
  // Unsafe (Firecracker's default: flushes are not offered) and Writeback
  // are both accepted: tsvmm always offers VIRTIO_BLK_F_FLUSH and runs each
  // flush as fdatasync, which is Writeback and never less safe than Unsafe.
  f.optionalEnum('cache_type', FC_CACHE_TYPES);
  const pathOnHost = nonEmpty('path_on_host', f.string('path_on_host'));
  const partuuid = f.optionalString('partuuid');
  if (partuuid !== undefined && !/^[0-9A-Fa-f-]{1,36}$/.test(partuuid)) {
    throw new FieldError('partuuid', `"${partuuid}" is not a partition UUID (hex digits and dashes)`);
  }
  return {
    driveId,
    pathOnHost,
    isRootDevice: f.boolean('is_root_device'),
    isReadOnly: f.optionalBoolean('is_read_only') ?? false,
    partuuid,
  };
}

const NET_FIELDS = ['iface_id', 'host_dev_name', 'guest_mac', 'mtu', 'rx_rate_limiter', 'tx_rate_limiter'];

/** PUT /network-interfaces/{iface_id} (and one entry of `network-interfaces`). */
export function parseNetworkInterface(body: unknown): NetworkInterface {
  const f = Fields.read(body, NET_FIELDS);
  const ifaceId = checkId('iface_id', f.string('iface_id'));
  const hostDevName = f.string('host_dev_name');
  if (hostDevName.length === 0 || hostDevName.length > MAX_TAP_NAME || !/^[\w.-]+$/.test(hostDevName)) {
    throw new FieldError('host_dev_name', `"${hostDevName}" is not a TAP name (1 to ${MAX_TAP_NAME} characters of A-Z a-z 0-9 _ . -)`);
  }
  f.unsupported('mtu', 'its virtio-net does not offer VIRTIO_NET_F_MTU');
  f.unsupported('rx_rate_limiter', 'it has no network rate limiting');
  f.unsupported('tx_rate_limiter', 'it has no network rate limiting');
  const mac = f.optionalString('guest_mac');
  let guestMac: string | undefined;
  if (mac !== undefined) {
    try {
      guestMac = formatMac(parseMac(mac));
    } catch (err) {
      if (err instanceof MacError) throw new FieldError('guest_mac', err.message);
      throw err;
    }
  }
  return { ifaceId, hostDevName, guestMac };
}

/** PUT /actions. */
export function parseAction(body: unknown): ActionType {
  return Fields.read(body, ['action_type']).enum('action_type', ACTION_TYPES);
}

/** PATCH /vm. */
export function parseVmState(body: unknown): VmStateRequest {
  return Fields.read(body, ['state']).enum('state', VM_STATES);
}
