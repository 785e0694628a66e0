// Runs bin/tsvmm as a user would and collects what it printed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const TSVMM = `${ROOT}bin/tsvmm`;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runTsvmm(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSVMM, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tsvmm ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30000} ms; stdout: ${stdout.slice(-500)} stderr: ${stderr}`));
    }, opts.timeoutMs ?? 30000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Why KVM tests cannot run here, or undefined when /dev/kvm is usable. */
export function kvmUnavailable(): string | undefined {
  const dev = process.env['TSVMM_KVM_DEVICE'] || '/dev/kvm';
  if (!existsSync(dev)) return `${dev} does not exist on this host (no KVM): skipping tests that boot guests`;
  return undefined;
}
