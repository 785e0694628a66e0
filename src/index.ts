// The package entry (`import ... from 'tsvmm'`): the library API (createVm,
// src/api/vm.ts), the Firecracker-style config file parser, and the CLI's
// argument parser.
import { readFileSync } from 'node:fs';

export { parseArgs, USAGE, UsageError, type ParseResult } from './cli/args.js';
export { defaultConfig, type VmConfig } from './vmm/config.js';
export * from './api/index.js';
export { loadConfigFile, ConfigFileError } from './api/firecracker/index.js';

/** This package's version, from its package.json (dist/src/index.js -> ../../package.json). */
export const version: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
