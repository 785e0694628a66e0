// Drives bin/tsvmm on a pseudo-terminal through test/helpers/pty_driver.py.
import { execFile } from 'node:child_process';
import { ROOT, TSVMM } from './tsvmm.js';

export interface PtyResult {
  matched: boolean;
  exited: boolean;
  code: number | null;
  signal: number | null;
  secondsToExit: number;
  restored: boolean;
  output: string;
}

export function runOnPty(args: string[], opts: { expect: string | string[]; send?: Uint8Array | Uint8Array[]; signal?: string; signalVmm?: boolean; timeoutSec?: number; exitTimeoutSec?: number; env?: NodeJS.ProcessEnv }): Promise<PtyResult> {
  // A dialogue: wait for expect[i], then type send[i]; the exit clock starts at the last send.
  const expects = Array.isArray(opts.expect) ? opts.expect : [opts.expect];
  const sends = opts.send === undefined ? [] : Array.isArray(opts.send) ? opts.send : [opts.send];
  const driver = [`${ROOT}test/helpers/pty_driver.py`, ...expects.flatMap((e) => ['--expect', e]), '--timeout', String(opts.timeoutSec ?? 60), '--exit-timeout', String(opts.exitTimeoutSec ?? 5)];
  for (const s of sends) driver.push('--send', Buffer.from(s).toString('hex'));
  if (opts.signal) driver.push('--signal', opts.signal);
  if (opts.signalVmm) driver.push('--signal-grandchild');
  driver.push('--', process.execPath, TSVMM, ...args);
  return new Promise((resolve, reject) => {
    execFile('python3', driver, { env: { ...process.env, ...opts.env }, maxBuffer: 64 << 20, timeout: ((opts.timeoutSec ?? 60) + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`pty driver failed: ${err.message} ${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout) as PtyResult);
    });
  });
}

export const CTRL_A_X = Uint8Array.from([0x01, 0x78]);
