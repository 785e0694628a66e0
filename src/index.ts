// The package entry (`import ... from 'tsvmm'`): what a program can use today.
// The library API (createVm, ...) joins it from src/api/.
import { readFileSync } from 'node:fs';

export { parseArgs, USAGE, UsageError, type ParseResult } from './cli/args.js';
export { defaultConfig, type VmConfig } from './vmm/config.js';

/** This package's version, from its package.json (dist/src/index.js -> ../../package.json). */
export const version: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
