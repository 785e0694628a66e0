// A VMM process (vmm/main.ts) seen from the process that starts it: the
// library's Vm, the CLI's supervisor, the API socket's controller. It spawns
// the process with an IPC channel, sends it its configuration, turns its
// stderr into log lines and its messages into promises and events, and says
// how it ended. The console is either this process's own stdin/stdout
// (`inherit`: the CLI's terminal, written by the vCPU thread directly) or a
// pair of pipes (`pipe`: the library's console stream).
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import type { VmConfig } from '../vmm/config.js';
import type { FromVmm, ToVmm, VmMetrics, VmRequest } from '../vmm/ipc.js';
import type { Readable } from 'node:stream';
import { VmStartError, VmStateError } from './errors.js';
import { VMM_LOG_FD, discardPrespawned, spawnVmmProcess, takePrespawned } from './prespawn.js';

export type ConsoleMode = 'inherit' | 'pipe';
export type VmState = 'created' | 'starting' | 'running' | 'paused' | 'stopped';

/** How the VMM process ended: its exit code, or the signal that killed it. */
export interface VmExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The one-line reason for a failure, when the VMM said one. */
  error: string | undefined;
  /** The last counters the VMM sent (undefined if it died without a word). */
  metrics: VmMetrics | undefined;
}

export interface VmProcessOptions {
  console: ConsoleMode;
  /** A person types into the console: Ctrl-A x quits, Ctrl-A b sends a break... (the CLI). */
  escapes: boolean;
  /**
   * Where the VMM writes its lines for the user (its fd 4): an fd of this
   * process (the CLI's stderr or --log file), or undefined for a pipe whose
   * lines become 'log' events (the library).
   */
  logFd?: number;
  /** Extra environment for the VMM process. */
  env?: NodeJS.ProcessEnv;
}

export { VMM_LOG_FD, vmmChildEnv } from './prespawn.js';

interface Pending {
  resolve(m: FromVmm & { type: 'reply' }): void;
}

export interface VmProcessEvents {
  /** One of the VMM's lines for the user (without "tsvmm: "), when its log is a pipe, or a line of its stderr. */
  log: [line: string];
  /** Text from the VMM's stderr (Node's own messages, if any). */
  stderr: [text: string];
  state: [state: VmState];
  exit: [exit: VmExit];
}

export class VmProcess extends EventEmitter<VmProcessEvents> {
  readonly child: ChildProcess;
  private current: VmState = 'created';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private lastExit: VmExit | undefined;
  private exiting: (FromVmm & { type: 'exiting' }) | undefined;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<VmExit>;

  constructor(private readonly options: VmProcessOptions) {
    super();
    // The CLI's VMM may already be starting (bin/tsvmm prespawned it with its log on fd 2: prespawn.ts).
    const adopt = options.console === 'inherit' && options.env === undefined && options.logFd === 2;
    if (!adopt) discardPrespawned(); // its fd 4 is the CLI's stderr, not this VM's log
    const early = adopt ? takePrespawned() : undefined;
    const io = options.console === 'inherit' ? 'inherit' : 'pipe';
    this.child = early ?? spawnVmmProcess([io, io, 'pipe', 'ipc', options.logFd ?? 'pipe'], options.env);
    const lines = (stream: Readable | null | undefined): void => {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.emit('log', line.replace(/^tsvmm: /, '')));
    };
    if (options.logFd === undefined) lines(this.child.stdio[VMM_LOG_FD] as Readable);
    this.child.stderr!.on('data', (chunk: Buffer) => this.emit('stderr', chunk.toString('utf8')));
    lines(this.child.stderr);
    this.child.on('message', (m: FromVmm) => this.onMessage(m));
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.lastExit !== undefined) return;
        this.lastExit = { code, signal, error: this.exiting?.error, metrics: this.exiting?.metrics };
        this.setState('stopped');
        for (const p of this.pending.values()) p.resolve({ type: 'reply', id: 0, ok: false, error: 'the VM has stopped' });
        this.pending.clear();
        this.emit('exit', this.lastExit);
        resolve(this.lastExit);
      };
      // 'close' waits for stderr to drain, so the last log line comes before 'exit'.
      this.child.on('close', done);
      this.child.on('error', (err) => {
        this.exiting ??= { type: 'exiting', code: 1, error: `cannot start the VMM process: ${err.message}` };
        done(1, null);
      });
    });
  }

  get state(): VmState {
    return this.current;
  }

  /** The VMM's pid (for a seccomp policy that may signal only it). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends the configuration; resolves once the guest runs, rejects with the VMM's one-line error. */
  start(config: VmConfig): Promise<void> {
    if (this.current !== 'created') return Promise.reject(new VmStateError(`the VM was already started (${this.current})`));
    this.setState('starting');
    this.send({ type: 'start', config, consoleEscapes: this.options.escapes });
    return new Promise((resolve, reject) => {
      const onState = (s: VmState): void => {
        if (s === 'starting') return;
        this.off('state', onState);
        if (s !== 'stopped') {
          resolve();
          return;
        }
        void this.exited.then((e) => reject(new VmStartError(e.error ?? describeExit(e), e.code ?? 1)));
      };
      this.on('state', onState);
    });
  }

  pause(): Promise<void> {
    return this.request('pause', 'running').then(() => this.setState('paused'));
  }

  resume(): Promise<void> {
    return this.request('resume', 'paused').then(() => this.setState('running'));
  }

  /** Ends the VM (as Ctrl-A x does) and resolves with how the process ended. */
  async stop(): Promise<VmExit> {
    if (this.current === 'created') this.child.kill('SIGTERM');
    else if (this.current !== 'stopped') await this.request('stop').catch(() => undefined);
    return this.exited;
  }

  async metrics(): Promise<VmMetrics> {
    const r = await this.request('metrics');
    if (r.metrics === undefined) throw new VmStateError('the VMM sent no metrics');
    return r.metrics;
  }

  private async request(request: VmRequest, needs?: VmState): Promise<FromVmm & { type: 'reply'; ok: true }> {
    if (needs !== undefined && this.current !== needs) throw new VmStateError(`cannot ${request} a VM that is ${this.current}`);
    if (this.current === 'stopped' || this.current === 'created') throw new VmStateError(`cannot ${request} a VM that is ${this.current}`);
    const id = this.nextId++;
    const reply = await new Promise<FromVmm & { type: 'reply' }>((resolve) => {
      this.pending.set(id, { resolve });
      this.send({ type: 'request', id, request });
    });
    if (!reply.ok) throw new VmStateError(`${request}: ${reply.error}`);
    return reply;
  }

  private send(m: ToVmm): void {
    if (this.child.connected) this.child.send(m);
  }

  private onMessage(m: FromVmm): void {
    if (m.type === 'running') this.setState('running');
    else if (m.type === 'exiting') this.exiting = m;
    else if (m.type === 'reply') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m);
    }
  }

  private setState(s: VmState): void {
    if (s === this.current || this.current === 'stopped') return;
    this.current = s;
    this.emit('state', s);
  }
}

/** "exit code 1" or "killed by SIGSYS", for a VMM that ended without saying why. */
export function describeExit(e: Pick<VmExit, 'code' | 'signal'>): string {
  return e.signal !== null ? `the VMM process was killed by ${e.signal}` : `the VMM process exited with code ${e.code}`;
}
