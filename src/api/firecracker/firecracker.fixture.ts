// Test-only helpers for the Firecracker API: a VmController fake that
// records every call and can be told to fail, an HTTP client over the Unix
// socket, and a raw-socket client for requests Node's client will not send.
// Nothing in tsvmm imports this.

import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { VmConfig } from '../../vmm/config.js';
import type { InstanceState, VmController } from './controller.js';

export type ControllerOp = 'start' | 'pause' | 'resume' | 'sendCtrlAltDel' | 'flushMetrics';

export interface ControllerCall {
  readonly op: ControllerOp;
  readonly config?: VmConfig;
}

/** A VmController without a VM: records calls; `failures` makes an operation reject with a message. */
export class FakeController implements VmController {
  state: InstanceState = 'Not started';
  readonly calls: ControllerCall[] = [];
  readonly failures = new Map<ControllerOp, string>();

  private record(op: ControllerOp, config?: VmConfig): void {
    this.calls.push(config === undefined ? { op } : { op, config });
    const message = this.failures.get(op);
    if (message !== undefined) throw new Error(message);
  }

  async start(config: VmConfig): Promise<void> {
    this.record('start', config);
    this.state = 'Running';
  }

  async pause(): Promise<void> {
    this.record('pause');
    this.state = 'Paused';
  }

  async resume(): Promise<void> {
    this.record('resume');
    this.state = 'Running';
  }

  async sendCtrlAltDel(): Promise<void> {
    this.record('sendCtrlAltDel');
  }

  async flushMetrics(): Promise<void> {
    this.record('flushMetrics');
  }
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is empty. */
  readonly json: Record<string, unknown> | undefined;
}

/** One request with Node's http client over the Unix socket. `body` objects are sent as JSON. */
export function httpCall(socketPath: string, method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        socketPath,
        method,
        path,
        // A connection per call, as curl makes: a pooled keep-alive socket the
        // server has closed as idle (5 s) while this thread was blocked (say,
        // in execFileSync) would be written to anyway and fail with EPIPE.
        agent: false,
        headers: text === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const t = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: t, json: t === '' ? undefined : (JSON.parse(t) as Record<string, unknown>) });
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/**
 * Writes `data` on a fresh connection and collects everything the server
 * sends until it closes the connection or `waitMs` passes.
 */
export function rawCall(socketPath: string, data: string | Buffer, waitMs: number): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('utf8'), closedByServer });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      // The server may close while we still write (EPIPE/ECONNRESET): what it sent counts.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') finish(true);
      else reject(err);
    });
    sock.write(data);
  });
}

/** Status code and JSON body of a raw HTTP/1.1 response text. */
export function parseRawResponse(text: string): { status: number; json: Record<string, unknown> | undefined } {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  const split = text.indexOf('\r\n\r\n');
  const body = split >= 0 ? text.slice(split + 4) : '';
  return { status: m === null ? 0 : Number(m[1]), json: body === '' ? undefined : (JSON.parse(body) as Record<string, unknown>) };
}

/** A Firecracker-style boot sequence (as firectl and the Go SDK send it) for the tests. */
export const FC_SEQUENCE: ReadonlyArray<{ readonly method: string; readonly path: string; readonly body: Readonly<Record<string, unknown>> }> = [
  { method: 'PUT', path: '/machine-config', body: { vcpu_count: 2, mem_size_mib: 256, smt: false, track_dirty_pages: false } },
  {
    method: 'PUT',
    path: '/boot-source',
    body: { kernel_image_path: '/images/vmlinux', initrd_path: '/images/initrd.img', boot_args: 'console=ttyS0 reboot=k panic=1 pci=off nomodules' },
  },
  { method: 'PUT', path: '/drives/scratch', body: { drive_id: 'scratch', path_on_host: '/images/scratch.img', is_root_device: false, is_read_only: false } },
  { method: 'PUT', path: '/drives/rootfs', body: { drive_id: 'rootfs', path_on_host: '/images/rootfs.ext4', is_root_device: true, is_read_only: true } },
  { method: 'PUT', path: '/drives/data', body: { drive_id: 'data', path_on_host: '/images/data.img', is_root_device: false, is_read_only: true, cache_type: 'Writeback', io_engine: 'Sync' } },
  { method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', host_dev_name: 'tap0', guest_mac: 'AA:FC:00:00:00:01' } },
  { method: 'PUT', path: '/network-interfaces/eth1', body: { iface_id: 'eth1', host_dev_name: 'tap1' } },
  { method: 'PUT', path: '/actions', body: { action_type: 'InstanceStart' } },
];

/** The same VM as a --config-file (Firecracker's layout). */
export const FC_CONFIG_FILE = {
  'boot-source': FC_SEQUENCE[1]!.body,
  drives: [FC_SEQUENCE[2]!.body, FC_SEQUENCE[3]!.body, FC_SEQUENCE[4]!.body],
  'machine-config': FC_SEQUENCE[0]!.body,
  'network-interfaces': [FC_SEQUENCE[5]!.body, FC_SEQUENCE[6]!.body],
};

/** The VmConfig both must produce: root drive first, pci=off dropped, root= added, MAC lower-cased. */
export const FC_EXPECTED: VmConfig = {
  kernel: '/images/vmlinux',
  initrd: '/images/initrd.img',
  append: 'console=ttyS0 reboot=k panic=1 nomodules root=/dev/vda ro',
  memoryBytes: 256 * 1024 * 1024,
  cpus: 2,
  disks: [
    { path: '/images/rootfs.ext4', readOnly: true },
    { path: '/images/scratch.img', readOnly: false },
    { path: '/images/data.img', readOnly: true },
  ],
  nets: [
    { tap: 'tap0', mac: 'aa:fc:00:00:00:01' },
    { tap: 'tap1', mac: undefined },
  ],
  seccomp: 'off',
  cpuTemplate: undefined,
};
