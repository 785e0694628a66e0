// --config-file: Firecracker's JSON layout (docs/getting-started.md,
// vmm/src/resources.rs VmmConfig) -> a VmConfig. The sections are the API's
// resources in kebab-case and their entries are the API's bodies, so they go
// through the same parsers (bodies.ts) and the same VmResources as the API:
// one code path. Sections are applied in Firecracker's order (machine,
// boot source, drives, network interfaces).
//
// Unlike Firecracker, whose top level does not deny unknown fields (a
// misspelt optional section is silently ignored), an unknown section is an
// error here; a section Firecracker knows and tsvmm does not implement is
// refused by name unless it is null.

import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { SeccompMode, VmConfig } from '../../vmm/config.js';
import { parseBootSource, parseDrive, parseMachineConfig, parseNetworkInterface } from './bodies.js';
import { ApiError, ConfigFileError, FieldError } from './errors.js';
import { describeValue } from './fields.js';
import { VmResources } from './resources.js';
import { errnoCode } from '../../base/errors.js';

export interface ConfigFileOptions {
  /** The CLI's --seccomp (not part of Firecracker's config file). */
  readonly seccomp: SeccompMode;
  /** One line for the user per notice (e.g. pci=off dropped). */
  readonly log: (line: string) => void;
  /** Defaults to os.totalmem(). */
  readonly hostMemoryBytes?: number;
}

const SECTIONS = ['boot-source', 'drives', 'machine-config', 'network-interfaces'] as const;

/** Sections of Firecracker's config file that tsvmm does not implement, and what they configure. */
const UNSUPPORTED_SECTIONS: Readonly<Record<string, string>> = {
  'cpu-config': 'custom CPU templates',
  pmem: 'pmem devices',
  vsock: 'vsock devices',
  balloon: 'the balloon device',
  logger: "Firecracker's logger (tsvmm writes its messages to stderr)",
  metrics: 'a metrics file',
  'mmds-config': 'the microVM metadata service (MMDS)',
  entropy: 'the entropy device',
  'memory-hotplug': 'memory hotplug',
  serial: 'redirecting the serial console',
};

/** Reads and parses a Firecracker config file. Throws ConfigFileError naming the file (and the field). */
export function loadConfigFile(path: string, options: ConfigFileOptions): VmConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = errnoCode(err) ?? (err as Error).message;
    throw new ConfigFileError(`cannot read config file ${path}: ${code}`, path, { cause: err });
  }
  return parseConfigFile(text, path, options);
}

/** Parses a config file's text; `file` names it in errors. */
export function parseConfigFile(text: string, file: string, options: ConfigFileOptions): VmConfig {
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigFileError(`${file}: not valid JSON: ${(err as Error).message}`, file, { cause: err });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigFileError(`${file}: expected a JSON object with boot-source and drives, got ${describeValue(json)}`, file);
  }
  const top = json as Record<string, unknown>;
  for (const [key, value] of Object.entries(top)) {
    const what = UNSUPPORTED_SECTIONS[key];
    if (what !== undefined) {
      if (value !== null) throw new ConfigFileError(`${file}: ${key}: tsvmm does not support ${what}`, file);
    } else if (!(SECTIONS as readonly string[]).includes(key)) {
      throw new ConfigFileError(`${file}: ${key}: unknown section; expected ${SECTIONS.join(', ')}`, file);
    }
  }

  const resources = new VmResources({ seccomp: options.seccomp, log: options.log });
  const limits = { hostMemoryBytes: options.hostMemoryBytes ?? totalmem() };
  const apply = (where: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      if (err instanceof FieldError) {
        const field = err.field === 'body' ? where : `${where}.${err.field}`;
        throw new ConfigFileError(`${file}: ${field}: ${err.detail}`, file, { cause: err });
      }
      if (err instanceof ApiError) throw new ConfigFileError(`${file}: ${where}: ${err.message}`, file, { cause: err });
      throw err;
    }
  };

  if (top['machine-config'] != null) apply('machine-config', () => resources.setMachineConfig(parseMachineConfig(top['machine-config'], limits)));
  if (top['boot-source'] == null) throw new ConfigFileError(`${file}: boot-source: is required (kernel_image_path, ...)`, file);
  apply('boot-source', () => resources.setBootSource(parseBootSource(top['boot-source'])));
  for (const [i, entry] of list(top, 'drives', file, true).entries()) {
    apply(`drives[${i}]`, () => resources.putDrive(parseDrive(entry)));
  }
  for (const [i, entry] of list(top, 'network-interfaces', file, false).entries()) {
    apply(`network-interfaces[${i}]`, () => resources.putNetworkInterface(parseNetworkInterface(entry)));
  }
  return resources.toVmConfig();
}

function list(top: Record<string, unknown>, key: string, file: string, required: boolean): unknown[] {
  const value = top[key];
  if (value == null) {
    if (required) throw new ConfigFileError(`${file}: ${key}: is required (an array, possibly empty)`, file);
    return [];
  }
  if (!Array.isArray(value)) throw new ConfigFileError(`${file}: ${key}: expected an array, got ${describeValue(value)}`, file);
  return value as unknown[];
}
