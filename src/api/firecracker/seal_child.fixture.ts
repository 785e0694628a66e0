// Test helper, run by seal.test.ts as its own process:
//   node dist/src/api/firecracker/seal_child.fixture.js <kill|log|trace> SOCKET
// A Firecracker API supervisor as the CLI will run it with --seccomp: it
// spawns its VMM child (stub_vmm_child.fixture.ts) first, starts the API server on
// SOCKET, then seals itself with the API policy ('trace' only marks the
// point with prctl(PR_SET_NO_NEW_PRIVS), for strace). After that it serves
// the API, forwards InstanceStart's VmConfig and the state changes to the
// child over IPC, and forwards the child's stderr. On SIGTERM it kills the
// child, waits for it, closes the server (which removes the socket) and
// exits 0 by ending its event loop. On SIGUSR2 it calls socket(AF_INET), which
// the policy refuses: the probe that the seal kills. Lines on stdout are JSON
// events.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { native } from '../../native/addon.js';
import { PR } from '../../sandbox/constants.js';
import { hostSeccompArch } from '../../sandbox/program.js';
import { apiPolicyFor } from '../../sandbox/policy/api.js';
import type { InstanceState, VmController } from './controller.js';
import { startApiServer } from './server.js';
import type { StubReply, StubRequest } from './stub_vmm_child.fixture.js';

const STUB = fileURLToPath(new URL('./stub_vmm_child.fixture.js', import.meta.url));
/** socket(2) arguments for the refused probe (include/linux/socket.h, net.h). */
const AF_INET = 2;
const SOCK_STREAM = 1;

function report(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** A VmController that drives the child over IPC, one request at a time. */
class IpcController implements VmController {
  state: InstanceState = 'Not started';

  constructor(private readonly child: ChildProcess) {}

  private ask(request: StubRequest): Promise<StubReply> {
    return new Promise((resolve, reject) => {
      const onExit = (): void => reject(new Error('the VMM process exited'));
      this.child.once('exit', onExit);
      this.child.once('message', (reply: StubReply) => {
        this.child.off('exit', onExit);
        if (reply.error !== undefined) reject(new Error(reply.error));
        else resolve(reply);
      });
      this.child.send(request);
    });
  }

  async start(config: Parameters<VmController['start']>[0]): Promise<void> {
    const reply = await this.ask({ kind: 'start', config });
    report({ event: 'child-got-config', config: (reply.request as { config: unknown }).config });
    this.state = 'Running';
  }

  async pause(): Promise<void> {
    await this.ask({ kind: 'pause' });
    this.state = 'Paused';
  }

  async resume(): Promise<void> {
    await this.ask({ kind: 'resume' });
    this.state = 'Running';
  }

  async sendCtrlAltDel(): Promise<void> {
    await this.ask({ kind: 'sendCtrlAltDel' });
  }

  async flushMetrics(): Promise<void> {
    await this.ask({ kind: 'flushMetrics' });
  }
}

async function main(mode: string, socketPath: string): Promise<void> {
  const child = spawn(process.execPath, [STUB], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
  });
  const pid = child.pid as number;
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const controller = new IpcController(child);
  const server = await startApiServer({
    socketPath,
    controller,
    log: (line) => process.stderr.write(`tsvmm: ${line}\n`),
    seccomp: mode === 'trace' ? 'off' : (mode as 'kill' | 'log'),
    bodyTimeoutMs: 300,
  });
  process.on('SIGTERM', () => {
    void (async () => {
      child.kill('SIGTERM');
      const end = await exited;
      await server.close();
      report({ event: 'done', child: end });
      process.exitCode = 0;
    })();
  });

  const socketNr = (apiPolicyFor(hostSeccompArch()).syscalls as Record<string, number>)['socket'] as number;
  process.on('SIGUSR2', () => {
    report({ event: 'probe', result: native.rawSyscall(socketNr, AF_INET, SOCK_STREAM, 0) });
  });

  if (mode === 'trace') {
    const { warmUpBeforeSeal } = await import('./seal.js');
    warmUpBeforeSeal();
    native.prctl(PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0); // the marker strace looks for
    report({ event: 'sealed', pid: process.pid, childPid: pid, instructions: 0 });
  } else {
    const { sealApiProcess } = await import('./seal.js');
    const program = sealApiProcess({ mode: mode as 'kill' | 'log', childPids: [pid] });
    report({ event: 'sealed', pid: process.pid, childPid: pid, instructions: program.instructions });
  }
}

await main(process.argv[2] ?? 'kill', process.argv[3] ?? '/tmp/tsvmm-api.sock');
