// Running the host tools the guest build uses (apt-get, dpkg-deb, make,
// mkfs.ext4, ...): short ones synchronously with their output captured, the
// long kernel build with its output in a log file.
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { TsvmmError } from '../base/errors.js';

/** Lines of a failed command's stderr, or of its log, shown in the error. */
export const ERROR_TAIL_LINES = { STDERR: 15, LOG: 30 } as const;

/** A command that could not start or exited non-zero; the message carries its output's tail. */
export class CommandError extends TsvmmError {
  constructor(
    readonly command: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Runs `cmd args` to completion; returns its stdout, throws CommandError on failure. */
export function run(cmd: string, args: readonly string[], opts: Omit<SpawnSyncOptions, 'encoding'> = {}): string {
  const r = spawnSync(cmd, args, { maxBuffer: 256 << 20, ...opts, encoding: 'utf8' });
  const line = [cmd, ...args].join(' ');
  if (r.error) throw new CommandError(line, `${cmd}: ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) {
    const err = tail(r.stderr ?? '', ERROR_TAIL_LINES.STDERR);
    throw new CommandError(line, `${line} exited with ${r.status ?? r.signal}${err ? `:\n${err}` : ''}`);
  }
  return r.stdout ?? '';
}

/** Whether `cmd` is on PATH. */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
}

export interface LoggedRun {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Where stdout and stderr go, interleaved as they come. */
  readonly logPath: string;
  /** Sees each complete output line (for progress). */
  readonly onLine?: (line: string) => void;
}

/** Runs a long command with its output in a log file; rejects with CommandError quoting the log's last lines. */
export function runLogged(cmd: string, args: readonly string[], o: LoggedRun): Promise<void> {
  const line = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const log = createWriteStream(o.logPath);
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    const feed = (chunk: Buffer): void => {
      log.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (o.onLine) for (const l of lines) o.onLine(l);
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    child.on('error', (e) => reject(new CommandError(line, `${cmd}: ${e.message}`, { cause: e })));
    child.on('close', (code, signal) => {
      log.end(() => {
        if (code === 0) return resolve();
        const last = tail(readFileSync(o.logPath, 'utf8'), ERROR_TAIL_LINES.LOG);
        reject(new CommandError(line, `${line} failed (${code ?? signal}); last lines of ${o.logPath}:\n${last}`));
      });
    });
  });
}
