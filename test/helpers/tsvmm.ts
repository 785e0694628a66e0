// Runs bin/tsvmm as a user would and collects what it printed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PVM_MODULE_DIR } from '../../src/arch/x86_64/pvm.js';

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

export class KvmRequiredError extends Error {
  constructor(dev: string) {
    super(`TSVMM_REQUIRE_KVM=1 but ${dev} does not exist here: the tests that boot guests cannot run, and CI does not pass without them`);
    this.name = 'KvmRequiredError';
  }
}

/**
 * Why KVM tests cannot run here (they skip, printing it), or undefined when
 * /dev/kvm is usable. With TSVMM_REQUIRE_KVM=1 (set by .ci/run, and by
 * scripts/run-arm64-tests.mjs in its host) a missing device throws instead:
 * the test file fails, it does not skip.
 */
/** The VMM's line when a vCPU thread would not leave KVM_RUN (vmm/lifecycle.ts). */
export const VCPU_STUCK = /did not stop/;

export function kvmUnavailable(): string | undefined {
  const dev = process.env['TSVMM_KVM_DEVICE'] || '/dev/kvm';
  if (existsSync(dev)) return undefined;
  if (process.env['TSVMM_REQUIRE_KVM'] === '1') throw new KvmRequiredError(dev);
  return `${dev} does not exist on this host (no KVM): skipping tests that boot guests`;
}

/**
 * Why this host's KVM cannot run a whole x86 Linux guest, or undefined when
 * it can. A nested PVM host (src/arch/x86_64/pvm.ts) runs a guest kernel's
 * code in an instruction emulator that has no `int3` (Debian's kernel stops
 * in its int3 self-test, before it starts the other CPUs) and no working
 * entry from user space (no shell). scripts/run-tests.mjs sends the test
 * files that call this to the test host there (it looks for the name); run
 * on such a host anyway, they skip, or with TSVMM_REQUIRE_KVM=1 fail, rather
 * than wait for output that never comes.
 */
export function fullGuestUnavailable(): string | undefined {
  if (process.arch !== 'x64' || !existsSync(PVM_MODULE_DIR)) return undefined;
  const why = `this host's KVM is the nested PVM flavour (${PVM_MODULE_DIR}), which runs neither a guest's user space nor its kernel's int3 self-test`;
  if (process.env['TSVMM_REQUIRE_KVM'] === '1') throw new Error(`TSVMM_REQUIRE_KVM=1 but ${why}: run this file through scripts/run-tests.mjs, which boots it in the test host`);
  return `${why}: skipping`;
}
