// Kernel module dependencies: parse a modules.dep and resolve a module list
// into load order (dependencies first), as modprobe would.
//
// Source: depmod(8) and modules.dep(5). Each line is
//   path/to/mod.ko[.xz|.zst|.gz]: path/to/dep1.ko path/to/dep2.ko ...
// with paths relative to /lib/modules/<version>/. A module's name is its file
// name without the .ko suffix (and compression suffix), with '-' read as '_'
// (the kernel treats the two as the same in module names).
import { TsvmmError } from '../base/errors.js';

/** Suffixes a module file may carry (kmod's compression support). */
export const MODULE_SUFFIXES = ['.ko', '.ko.xz', '.ko.zst', '.ko.gz'] as const;

export interface ModuleInfo {
  /** Normalised name: "virtio_pci". */
  readonly name: string;
  /** Path relative to /lib/modules/<version>/, as modules.dep writes it. */
  readonly path: string;
  /** Names of the modules this one needs, as listed. */
  readonly deps: readonly string[];
}

/** A modules.dep line that is not "path: deps...". */
export class ModulesDepSyntaxError extends TsvmmError {
  constructor(
    readonly line: number,
    readonly text: string,
    reason: string,
  ) {
    super(`modules.dep line ${line}: ${reason}: ${JSON.stringify(text)}`);
  }
}

/** A module that modules.dep does not list (asked for, or needed by another). */
export class UnknownModuleError extends TsvmmError {
  constructor(
    readonly module: string,
    readonly neededBy: string | undefined,
  ) {
    super(
      neededBy === undefined
        ? `module ${module} is not in modules.dep`
        : `module ${module} (needed by ${neededBy}) is not in modules.dep`,
    );
  }
}

/** Modules that depend on each other in a loop: the chain, first name repeated at the end. */
export class ModuleCycleError extends TsvmmError {
  constructor(readonly chain: readonly string[]) {
    super(`module dependency cycle: ${chain.join(' -> ')}`);
  }
}

/** "kernel/drivers/virtio/virtio-pci.ko.xz" -> "virtio_pci"; undefined if not a module file name. */
export function moduleNameOf(path: string): string | undefined {
  const base = path.slice(path.lastIndexOf('/') + 1);
  // Longest suffix first: ".ko.xz" before ".ko".
  for (const suffix of [...MODULE_SUFFIXES].sort((a, b) => b.length - a.length)) {
    if (base.endsWith(suffix) && base.length > suffix.length) {
      return base.slice(0, -suffix.length).replaceAll('-', '_');
    }
  }
  return undefined;
}

/** Normalises a module name as the kernel does ('-' and '_' are the same). */
export function normaliseModuleName(name: string): string {
  return name.replaceAll('-', '_');
}

/** Parses modules.dep text into a map from module name to its entry. */
export function parseModulesDep(text: string): Map<string, ModuleInfo> {
  const out = new Map<string, ModuleInfo>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw new ModulesDepSyntaxError(i + 1, raw, 'no ":" after the module path');
    const path = line.slice(0, colon).trim();
    const name = moduleNameOf(path);
    if (name === undefined) throw new ModulesDepSyntaxError(i + 1, raw, `${JSON.stringify(path)} is not a .ko file`);
    if (out.has(name)) throw new ModulesDepSyntaxError(i + 1, raw, `module ${name} is listed twice`);
    const deps: string[] = [];
    for (const dep of line.slice(colon + 1).trim().split(/\s+/)) {
      if (dep === '') continue;
      const depName = moduleNameOf(dep);
      if (depName === undefined) throw new ModulesDepSyntaxError(i + 1, raw, `dependency ${JSON.stringify(dep)} is not a .ko file`);
      deps.push(depName);
    }
    out.set(name, { name, path, deps });
  }
  return out;
}

/**
 * The modules `wanted` and everything they need, each once, in an order in
 * which they can be loaded: every module after all of its dependencies.
 * Wanted modules keep their relative order where dependencies allow.
 * Throws UnknownModuleError or ModuleCycleError.
 */
export function resolveModules(deps: ReadonlyMap<string, ModuleInfo>, wanted: readonly string[]): ModuleInfo[] {
  const order: ModuleInfo[] = [];
  const done = new Set<string>();
  // The current depth-first path, to report a cycle as a chain.
  const path: string[] = [];
  const onPath = new Set<string>();

  const visit = (name: string, neededBy: string | undefined): void => {
    if (done.has(name)) return;
    if (onPath.has(name)) {
      throw new ModuleCycleError([...path.slice(path.indexOf(name)), name]);
    }
    const info = deps.get(name);
    if (info === undefined) throw new UnknownModuleError(name, neededBy);
    path.push(name);
    onPath.add(name);
    for (const d of info.deps) visit(d, name);
    path.pop();
    onPath.delete(name);
    done.add(name);
    order.push(info);
  };

  for (const w of wanted) visit(normaliseModuleName(w), undefined);
  return order;
}

/** Names of the built-in modules listed in modules.builtin (one path per line): asking for one needs no file. */
export function parseModulesBuiltin(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const name = moduleNameOf(line.trim());
    if (name !== undefined) out.add(name);
  }
  return out;
}
