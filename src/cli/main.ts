// Entry point of `tsvmm` (bin/tsvmm): argument errors, help and version are
// answered here; a run goes to the supervised VMM child.
import { readFileSync } from 'node:fs';
import { parseArgs, UsageError, USAGE } from './args.js';
import { supervise } from './supervisor.js';

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`tsvmm: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (parsed.kind === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`tsvmm ${pkg.version}\n`);
    return 0;
  }
  return supervise(argv, parsed.logFile);
}
