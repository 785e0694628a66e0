// The shape of the code, as its imports show it:
// - dependencies point one way: each top-level folder of src/ has a layer,
//   and a file imports only from its own folder or from a lower layer (so
//   there is no cycle between folders), and no file-level cycle exists;
// - start-up cost: every worker compiles the modules it imports, so the
//   vCPU worker's and the main thread's static imports must not pull in
//   what only another thread needs.
// Reads the TypeScript sources (type-only imports count: they are
// dependencies too) and, for the start-up closures, the compiled tree beside
// this test (dist/src/...). Tests and fuzz targets (*.fuzz.ts, which only
// tests and the fuzz soak import) are leaves and are left out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST_SRC = dirname(fileURLToPath(import.meta.url));
const SRC = resolve(DIST_SRC, '..', '..', 'src');

/**
 * Layers, top to bottom: an import may only go down (or stay in its folder).
 * cli and api build configs and drive the VMM (guest builds guest images,
 * fuzz is the fuzz harness: tooling at the top); vmm builds and runs it;
 * vcpu runs guest code and hands exits to the platform (the device side);
 * arch describes the machine; devices are state machines over pci, bus and
 * memory; kvm and native are the kernel's interfaces.
 */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['cli', 'guest', 'fuzz'],
  ['api'],
  ['vmm'],
  ['vcpu', 'sandbox'],
  ['platform'],
  ['arch'],
  ['devices', 'console', 'loader'],
  ['pci'],
  ['bus', 'memory'],
  ['kvm'],
  ['native'],
  ['base'],
];
const RANK = new Map(LAYERS.flatMap((names, rank) => names.map((n) => [n, rank] as const)));

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.fuzz.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of a TS source: import/export ... from, import(), side-effect imports, new URL('./x.js', import.meta.url). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const found = [
    ...text.matchAll(/\bfrom\s+['"](\.[^'"]+)['"]/g),
    ...text.matchAll(/\bimport\s*\(\s*['"](\.[^'"]+)['"]\s*\)/g),
    ...text.matchAll(/^\s*import\s+['"](\.[^'"]+)['"]/gm),
    ...text.matchAll(/new URL\(\s*['"](\.[^'"]+\.js)['"]\s*,\s*import\.meta\.url\s*\)/g),
  ];
  return found.map((m) => relative(SRC, resolve(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
}

const GRAPH = new Map(sourceFiles(SRC).map((f) => [relative(SRC, f), importsOf(f)] as const));
const folderOf = (file: string): string => (file.includes('/') ? file.split('/')[0]! : '(root)');

test('the import graph was read', () => {
  assert.ok(GRAPH.size > 100, `${GRAPH.size} files`);
  assert.ok(GRAPH.get('vmm/vmm.ts')?.includes('vmm/prepare.ts'));
  for (const [file, deps] of GRAPH) for (const d of deps) if (!d.startsWith('..')) assert.ok(GRAPH.has(d) || d.endsWith('.d.ts') || d.endsWith('.fuzz.ts'), `${file} imports ${d}, which does not exist`);
});

test('every top-level folder has a layer and imports only downwards', () => {
  const wrong: string[] = [];
  for (const [file, deps] of GRAPH) {
    const from = folderOf(file);
    if (from === '(root)') continue; // the package entry re-exports the public API
    const rank = RANK.get(from);
    if (rank === undefined) {
      wrong.push(`${from}/ has no layer in LAYERS`);
      continue;
    }
    for (const d of deps) {
      if (d.startsWith('..')) continue; // native/index.d.ts, package.json
      const to = folderOf(d);
      if (to === from) continue;
      const r = RANK.get(to);
      if (r === undefined || r <= rank) wrong.push(`${file} imports ${d} (${from} -> ${to} goes ${r === rank ? 'sideways' : 'up'})`);
    }
  }
  assert.deepEqual([...new Set(wrong)], []);
});

test('fixtures (*.fixture.ts, test support) are imported only by tests, fuzz targets and other fixtures', () => {
  const isFixture = (f: string): boolean => f.endsWith('.fixture.ts');
  const testSide = (f: string): boolean => isFixture(f) || f.endsWith('.fuzz.ts');
  assert.ok([...GRAPH.keys()].some(isFixture), 'the fixtures were read');
  const wrong = [...GRAPH].flatMap(([file, deps]) => (testSide(file) ? [] : deps.filter(isFixture).map((d) => `${file} imports ${d}`)));
  assert.deepEqual(wrong, []);
});

test('no import cycle between files', () => {
  // Tarjan's strongly connected components; any component of two or more files is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of GRAPH.get(v) ?? []) {
      if (!GRAPH.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || GRAPH.get(v)!.includes(v)) cycles.push(scc.sort());
    }
  };
  for (const v of GRAPH.keys()) if (!idx.has(v)) visit(v);
  assert.deepEqual(cycles, []);
});

/** The static import closure of a compiled `entry` (dynamic import() is not followed), as paths relative to src/. */
function staticImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const walk = (file: string): void => {
    const rel = relative(DIST_SRC, file);
    if (seen.has(rel)) return;
    seen.add(rel);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)) walk(resolve(dirname(file), m[1]!));
    for (const m of text.matchAll(/^\s*import\s+['"](\.[^'"]+)['"]/gm)) walk(resolve(dirname(file), m[1]!));
  };
  walk(resolve(DIST_SRC, entry));
  return seen;
}

/** A device kind's modules beyond its constants (its model, runtime, queue handling). */
const DEVICE_KIND = /^devices\/virtio\/(block|net)\/(?!constants\.js$)/;

test('the vCPU worker loads no kernel loader, boot code, seccomp code or device kind statically', () => {
  const mods = [...staticImports('vcpu/worker.js')];
  assert.ok(mods.includes('vcpu/run_loop.js') && mods.includes('pci/pci_bus.js'), `the closure was walked: ${mods.join(' ')}`);
  const unwanted = mods.filter((m) => m.startsWith('loader/') || m.startsWith('sandbox/') || /^arch\/[^/]+\/(index|boot|boot_params|boot_cpu|cpuid|fdt|machine_fdt)\.js$/.test(m) || DEVICE_KIND.test(m));
  assert.deepEqual(unwanted, []);
});

test('the VMM main thread does not load the vCPU worker, the platform, the device kinds or the seccomp code statically', () => {
  const mods = [...staticImports('vmm/vmm.js')];
  assert.ok(mods.includes('vmm/prepare.js') && mods.includes('vmm/machine.js'), `the closure was walked: ${mods.join(' ')}`);
  const unwanted = mods.filter(
    // (platform/mailbox.js is the main thread's too: it sizes and closes the exit mailboxes.)
    (m) => m === 'vcpu/worker.js' || (m.startsWith('platform/') && m !== 'platform/mailbox.js') || m.startsWith('sandbox/') || m.startsWith('arch/x86_64/') || m.startsWith('arch/aarch64/') || /^devices\/virtio\/(block|net)\/runtime\.js$/.test(m),
  );
  assert.deepEqual(unwanted, []);
});
