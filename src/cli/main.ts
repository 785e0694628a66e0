// Entry point of `tsvmm` (bin/tsvmm): argument errors (exit 2), help and
// version are answered here; a run goes to run.ts.
import { readFileSync } from 'node:fs';
import { parseArgs, UsageError, USAGE } from './args.js';
import { runCli } from './run.js';
import { startupLoaded } from '../native/startup_trace.js';

startupLoaded('supervisor');

export async function main(argv: readonly string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`tsvmm: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function dispatch(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(argv);
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (parsed.kind === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`tsvmm ${pkg.version}\n`);
    return 0;
  }
  const config = parsed.kind === 'run' ? parsed.config : undefined;
  return runCli({ config, seccomp: parsed.seccomp, ...parsed.control });
}
