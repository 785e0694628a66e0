// The Firecracker API's request handling, without HTTP: a request (method,
// path, body text) in, a status and a JSON body out. It keeps Firecracker's
// two phases (rpc_interface.rs): before InstanceStart the configuration
// calls work and the VM-state calls are refused; after it, the reverse.
// Requests are handled one at a time, in arrival order, as Firecracker's
// single VMM thread does, so a slow InstanceStart holds the ones behind it.

import type { SeccompMode, VmConfig } from '../../vmm/config.js';
import {
  MIB,
  parseAction,
  parseBootSource,
  parseDrive,
  parseMachineConfig,
  parseMachineConfigPatch,
  parseNetworkInterface,
  parseVmState,
  checkId,
  type BodyLimits,
  type MachineConfig,
} from './bodies.js';
import type { VmController } from './controller.js';
import { ApiError, FieldError, HTTP_STATUS, type HttpStatus } from './errors.js';
import { VmResources } from './resources.js';
import { route, type Route } from './routes.js';

/** GET / app_name. */
export const APP_NAME = 'tsvmm';

export const PRE_BOOT_ONLY = 'The requested operation is not supported after starting the microVM.';
export const POST_BOOT_ONLY = 'The requested operation is not supported before starting the microVM.';

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  /** The body's text; undefined when the request had none (Content-Length 0 or absent). */
  readonly body: string | undefined;
}

export interface ApiResponse {
  readonly status: HttpStatus;
  /** JSON body; undefined for 204. */
  readonly body: Readonly<Record<string, unknown>> | undefined;
}

export interface FirecrackerApiOptions {
  readonly controller: VmController;
  /** GET / id (Firecracker's --id; its default is "anonymous-instance"). */
  readonly id: string;
  /** GET / vmm_version and GET /version firecracker_version. */
  readonly vmmVersion: string;
  /** Not part of the Firecracker API: the CLI's --seccomp, copied into the VmConfig. */
  readonly seccomp: SeccompMode;
  readonly limits: BodyLimits;
  /** One line for the user (e.g. that pci=off was dropped from boot_args). */
  readonly log: (line: string) => void;
  /** The VM was already booted (from --config-file) with this config: start in the post-boot phase. */
  readonly bootedConfig?: VmConfig;
}

const NO_CONTENT: ApiResponse = { status: HTTP_STATUS.NO_CONTENT, body: undefined };

function ok(body: Record<string, unknown>): ApiResponse {
  return { status: HTTP_STATUS.OK, body };
}

export function fault(message: string, status: HttpStatus = HTTP_STATUS.BAD_REQUEST): ApiResponse {
  return { status, body: { fault_message: message } };
}

/** Routes whose body must be absent (GET) and the rest, whose body must be present. */
const GET_ROUTES = new Set<Route['kind']>(['getInstanceInfo', 'getVersion', 'getMachineConfig']);

export class FirecrackerApi {
  private readonly resources: VmResources;
  private booted: VmConfig | undefined;
  /** The tail of the request queue: each request starts when the one before it has answered. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: FirecrackerApiOptions) {
    this.resources = new VmResources({ seccomp: options.seccomp, log: options.log });
    this.booted = options.bootedConfig;
  }

  /** Whether InstanceStart has succeeded (or the VM was booted from a config file). */
  get started(): boolean {
    return this.booted !== undefined;
  }

  /** Answers one request after every earlier one has been answered. Never rejects. */
  handle(request: ApiRequest): Promise<ApiResponse> {
    const answer = this.queue.then(() => this.answer(request));
    this.queue = answer;
    return answer;
  }

  private async answer(request: ApiRequest): Promise<ApiResponse> {
    const what = `${request.method} ${request.path}`;
    try {
      return await this.dispatch(request, route(request.method, request.path));
    } catch (err) {
      if (err instanceof FieldError) return fault(`${what}: ${err.message}`);
      if (err instanceof ApiError) return fault(err.message, err.status);
      // A controller that rejected: its message is one line for the user.
      return fault(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async dispatch(request: ApiRequest, r: Route): Promise<ApiResponse> {
    const { method, path } = request;
    if (r.kind === 'invalid') return fault(`Invalid request method and/or path: ${method} ${path}.`);
    if (r.kind === 'unsupported') return fault(`${method} ${path}: tsvmm does not support ${r.what}.`);
    if (r.kind === 'missingId') return fault(`${method} ${path}: missing ${r.resource} id in the path.`);
    if (GET_ROUTES.has(r.kind)) {
      if (request.body !== undefined) return fault('GET request cannot have a body.');
    } else if (request.body === undefined) {
      return fault(`Empty ${method} request.`);
    }
    const body = request.body === undefined ? undefined : parseJson(request.body, `${method} ${path}`);

    switch (r.kind) {
      case 'getInstanceInfo':
        return ok({ id: this.options.id, state: this.options.controller.state, vmm_version: this.options.vmmVersion, app_name: APP_NAME });
      case 'getVersion':
        return ok({ firecracker_version: this.options.vmmVersion });
      case 'getMachineConfig':
        return ok(machineConfigJson(this.currentMachineConfig()));
      case 'putMachineConfig': {
        const config = parseMachineConfig(body, this.options.limits);
        this.requirePreBoot();
        this.resources.setMachineConfig(config);
        return NO_CONTENT;
      }
      case 'patchMachineConfig': {
        const patch = parseMachineConfigPatch(body, this.options.limits);
        this.requirePreBoot();
        this.resources.updateMachineConfig(patch);
        return NO_CONTENT;
      }
      case 'putBootSource': {
        const source = parseBootSource(body);
        this.requirePreBoot();
        this.resources.setBootSource(source);
        return NO_CONTENT;
      }
      case 'putDrive': {
        const drive = parseDrive(body);
        checkPathId(r.id, drive.driveId, 'drive_id');
        this.requirePreBoot();
        this.resources.putDrive(drive);
        return NO_CONTENT;
      }
      case 'putNetworkInterface': {
        const net = parseNetworkInterface(body);
        checkPathId(r.id, net.ifaceId, 'iface_id');
        this.requirePreBoot();
        this.resources.putNetworkInterface(net);
        return NO_CONTENT;
      }
      case 'putActions':
        return this.action(parseAction(body));
      case 'patchVm': {
        const state = parseVmState(body);
        this.requirePostBoot();
        await (state === 'Paused' ? this.options.controller.pause() : this.options.controller.resume());
        return NO_CONTENT;
      }
    }
  }

  private async action(action: ReturnType<typeof parseAction>): Promise<ApiResponse> {
    const controller = this.options.controller;
    switch (action) {
      case 'InstanceStart': {
        this.requirePreBoot();
        const config = this.resources.toVmConfig();
        try {
          await controller.start(config);
        } catch (err) {
          throw new ApiError(`Start microvm error: ${err instanceof Error ? err.message : String(err)}`, HTTP_STATUS.BAD_REQUEST, { cause: err });
        }
        this.booted = config;
        return NO_CONTENT;
      }
      case 'SendCtrlAltDel':
        this.requirePostBoot();
        await controller.sendCtrlAltDel();
        return NO_CONTENT;
      case 'FlushMetrics':
        this.requirePostBoot();
        await controller.flushMetrics();
        return NO_CONTENT;
    }
  }

  private currentMachineConfig(): MachineConfig {
    const b = this.booted;
    return b === undefined ? this.resources.machineConfig : { vcpuCount: b.cpus, memSizeMib: Math.floor(b.memoryBytes / MIB) };
  }

  private requirePreBoot(): void {
    if (this.booted !== undefined) throw new ApiError(PRE_BOOT_ONLY);
  }

  private requirePostBoot(): void {
    if (this.booted === undefined) throw new ApiError(POST_BOOT_ONLY);
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError(`${what}: the body is not valid JSON: ${(err as Error).message}`, HTTP_STATUS.BAD_REQUEST, { cause: err });
  }
}

function checkPathId(pathId: string, bodyId: string, field: string): void {
  checkId(`${field} in the path`, pathId);
  if (pathId !== bodyId) throw new FieldError(field, `"${bodyId}" does not match the id in the path ("${pathId}")`);
}

/** GET /machine-config: Firecracker's MachineConfiguration, with tsvmm's fixed values for what it does not support. */
function machineConfigJson(m: MachineConfig): Record<string, unknown> {
  return { vcpu_count: m.vcpuCount, mem_size_mib: m.memSizeMib, smt: false, track_dirty_pages: false, huge_pages: 'None' };
}
