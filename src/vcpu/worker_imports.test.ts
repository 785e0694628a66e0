// Start-up cost: every worker compiles the modules it imports, so the vCPU
// worker's static imports must not pull in what only the main thread needs.
// Reads the compiled tree beside this test (dist/src/...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The static import closure of `entry` (dynamic import() is not followed), as paths relative to src/. */
function staticImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const walk = (file: string): void => {
    const rel = relative(SRC, file);
    if (seen.has(rel)) return;
    seen.add(rel);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)) walk(resolve(dirname(file), m[1]!));
    for (const m of text.matchAll(/^\s*import\s+['"](\.[^'"]+)['"]/gm)) walk(resolve(dirname(file), m[1]!));
  };
  walk(resolve(SRC, entry));
  return seen;
}

test('the vCPU worker loads no kernel loader, boot code, seccomp code or device kind statically', () => {
  const mods = [...staticImports('vcpu/worker.js')];
  assert.ok(mods.includes('vcpu/run_loop.js') && mods.includes('pci/pci_bus.js'), `the closure was walked: ${mods.join(' ')}`);
  const unwanted = mods.filter((m) => m.startsWith('loader/') || m.startsWith('sandbox/') || /^arch\/[^/]+\/(index|boot|boot_params|boot_cpu|cpuid|fdt|machine_fdt)\.js$/.test(m) || /^devices\/virtio\/(block|net)\//.test(m));
  assert.deepEqual(unwanted, []);
});

test('the VMM main thread does not load the vCPU worker, the device kinds or the seccomp code statically', () => {
  const mods = [...staticImports('vmm/vmm.js')];
  const unwanted = mods.filter((m) => m === 'vcpu/worker.js' || m.startsWith('sandbox/') || m.startsWith('arch/x86_64/') || m.startsWith('arch/aarch64/') || /^vmm\/virtio_(blk|net)_runtime\.js$/.test(m));
  assert.deepEqual(unwanted, []);
});
