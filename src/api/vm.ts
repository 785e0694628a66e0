// The library API: a VM as a Node object.
//
//   const vm = await createVm({ kernel, initrd, cmdline, memoryMiB, cpus, disks, nets, seccomp });
//   vm.console.write('ls\n'); vm.console.on('data', ...);   // the guest's serial console
//   await vm.pause(); await vm.resume(); await vm.stop();
//   vm.state; vm.on('exit', ...); await vm.metrics();
//
// The VM runs in a process of its own (sealed by seccomp when asked), which
// this object steers over IPC (process.ts).
import { Duplex, type Readable, type Writable } from 'node:stream';
import { EventEmitter } from 'node:events';
import type { VmMetrics } from '../vmm/ipc.js';
import { toVmConfig, type VmOptions } from './options.js';
import { VmProcess, type VmExit, type VmState } from './process.js';

/**
 * The VMM's stdout and stdin as one stream. It ends when the VM does; what is
 * written after that is dropped (the guest is gone), never an error event.
 */
class ConsoleStream extends Duplex {
  constructor(
    private readonly out: Readable,
    private readonly input: Writable,
  ) {
    super();
    out.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) out.pause();
    });
    out.on('end', () => this.push(null));
    input.on('error', () => undefined); // EPIPE once the VMM has exited
  }

  override _read(): void {
    this.out.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.input.destroyed || !this.input.writable) {
      done();
      return;
    }
    this.input.write(chunk, () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.input.end();
    done();
  }
}

export interface VmEvents {
  /** One line the VMM wrote for the user (without its "tsvmm: " prefix). */
  log: [line: string];
  state: [state: VmState];
  /** The VMM process ended: its exit code (0: the guest powered off or was stopped) or the signal that killed it. */
  exit: [exit: VmExit];
}

export class Vm extends EventEmitter<VmEvents> {
  /** The guest's serial console: what the guest prints is read from it, what is written to it the guest reads. */
  readonly console: Duplex;

  /** @internal Use createVm. */
  constructor(private readonly process: VmProcess) {
    super();
    const child = process.child;
    this.console = new ConsoleStream(child.stdout!, child.stdin!);
    process.on('log', (line) => this.emit('log', line));
    process.on('state', (s) => this.emit('state', s));
    process.on('exit', (e) => this.emit('exit', e));
  }

  get state(): VmState {
    return this.process.state;
  }

  /** The VMM process's pid. */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Stops every vCPU and holds the device queues; the guest makes no progress until resume(). */
  pause(): Promise<void> {
    return this.process.pause();
  }

  resume(): Promise<void> {
    return this.process.resume();
  }

  /** Ends the VM (every vCPU thread stopped first) and resolves with how its process ended. */
  stop(): Promise<VmExit> {
    return this.process.stop();
  }

  /** Resolves once the VM has ended on its own (the guest powered off) or was stopped. */
  get exited(): Promise<VmExit> {
    return this.process.exited;
  }

  /** Counters: each vCPU's exits by kind, each device's requests, bytes, errors, kicks and interrupts. */
  metrics(): Promise<VmMetrics> {
    return this.process.metrics();
  }
}

/**
 * Builds and boots a VM; resolves once the guest runs. Rejects with a
 * VmOptionsError for bad options, or a VmStartError carrying the one line
 * the CLI would print (a missing kernel, no /dev/kvm, ...).
 */
export async function createVm(options: VmOptions): Promise<Vm> {
  const config = toVmConfig(options);
  const proc = new VmProcess({ console: 'pipe', escapes: false });
  const vm = new Vm(proc);
  await proc.start(config);
  return vm;
}
