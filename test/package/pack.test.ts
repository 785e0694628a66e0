// `npm pack` makes a package that installs and runs without a compiler
// (issue "Control plane": "A package that installs without a compiler").
//
// The pack runs in a copy of the sources: its prepack (node-gyp into build/,
// the arm64 cross-build into prebuilds/) and prepare (rm -rf dist, tsc) would
// otherwise rebuild this checkout's build/ and dist/ under the tests running
// from them. The tarball is then installed into an empty folder with
// --ignore-scripts, so nothing there can compile. Needs the npm registry (or
// npm's cache) for node-gyp-build, and the arm64 cross toolchain with Node's
// N-API headers (scripts/testhost-arm64/prepare.sh --headers, cached).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/tsvmm.js';
import { EM_AARCH64, EM_X86_64 } from '../helpers/elf.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** The prebuilds, in node-gyp-build's layout, with the ELF e_machine each must have (elf.h). */
const PREBUILDS = { 'linux-arm64/node.napi.glibc.node': EM_AARCH64, 'linux-x64/node.napi.glibc.node': EM_X86_64 };
/** README: the prebuilds need glibc >= 2.32 (strerrorname_np); a newer build host must not raise that. */
const GLIBC_FLOOR = '2.32';
/** Orders glibc versions: '2.32' -> 2_032_000, '2.2.5' -> 2_002_005. */
const glibcRank = (v: string): number => [0, 1, 2].reduce((n, i) => n * 1000 + Number(v.split('.')[i] ?? 0), 0);
/** What the package needs to build and pack: no tests, no bench (tsc compiles only src/). */
const SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'binding.gyp', 'README.md', 'bin', 'native/tsvmm.c', 'native/index.d.ts', 'scripts', 'src'];

// scripts/prebuilds.sh builds linux-x64 natively.
const skip = process.arch === 'x64' ? false : `packing needs an x86-64 host (this is ${process.arch})`;
if (skip) console.log(`# ${skip}`);

const work = mkdtempSync(join(tmpdir(), 'tsvmm-pack-'));
const copy = join(work, 'src');
const app = join(work, 'app');
const installed = join(app, 'node_modules', 'tsvmm');
after(() => rmSync(work, { recursive: true, force: true }));

// Without the npm_* variables of an outer `npm test`: npm reads them as its own settings.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));

/** Runs a command to completion; returns its stdout, or fails with its stderr. */
function run(cmd: string, args: string[], cwd: string, timeoutSec = 120): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: timeoutSec * 1000 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status} ${r.signal ?? ''}\n${r.stdout.slice(-2000)}${r.stderr.slice(-3000)}`);
  return r.stdout;
}

const timings: string[] = [];
function timed<T>(name: string, fn: () => T): T {
  const t0 = performance.now();
  const value = fn();
  timings.push(`${name} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return value;
}

before(() => {
  if (skip) return;
  for (const s of SOURCES) cpSync(join(ROOT, s), join(copy, s), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  const tarball = join(work, `tsvmm-${VERSION}.tgz`);
  timed('npm pack', () => run('npm', ['pack', '--pack-destination', work], copy, 300));
  assert.ok(existsSync(tarball), `npm pack wrote ${tarball}`);
  mkdirSync(app);
  timed('npm install', () => run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], app));
  console.log(timings.join(', '));
});

/** Every file under dir, relative to it. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

test('the installed package holds both prebuilds, the fallback build sources, and no tests, fixtures or build/', { skip }, () => {
  assert.deepEqual(files(join(installed, 'prebuilds')), Object.keys(PREBUILDS));
  assert.equal(existsSync(join(installed, 'build')), false, 'no build/: nothing was compiled at install');
  for (const f of ['binding.gyp', 'native/tsvmm.c', 'bin/tsvmm', 'dist/src/index.js', 'dist/src/index.d.ts']) assert.ok(existsSync(join(installed, f)), f);
  assert.equal(existsSync(join(installed, 'dist', 'test')), false, 'no dist/test');
  const dist = files(join(installed, 'dist'));
  assert.deepEqual(
    dist.filter((f) => f.includes('.test.') || f.includes('.fixture.') || f.endsWith('.map')),
    [],
    'no unit tests, test fixtures or source maps',
  );
});

test('the prebuilds are ELF shared objects for x86-64 (62) and aarch64 (183), needing glibc <= 2.32', { skip }, () => {
  for (const [name, machine] of Object.entries(PREBUILDS)) {
    const path = join(installed, 'prebuilds', name);
    const h = Buffer.alloc(20);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, h, 0, h.length, 0);
    } finally {
      closeSync(fd);
    }
    assert.equal(h.toString('latin1', 0, 4), '\x7fELF', `${name}: ELF magic`);
    assert.equal(h[4], 2, `${name}: ELFCLASS64`);
    assert.equal(h[5], 1, `${name}: little endian`);
    assert.equal(h.readUInt16LE(16), 3, `${name}: ET_DYN`);
    assert.equal(h.readUInt16LE(18), machine, `${name}: e_machine`);
    // readelf reads any architecture's ELF: the symbol versions the file needs.
    const needed = [...run('readelf', ['-V', '-W', path], work).matchAll(/Name: GLIBC_([\d.]+)/g)].map((m) => m[1]!);
    assert.ok(needed.length > 0, `${name}: readelf lists the GLIBC versions it needs`);
    const newest = needed.reduce((a, b) => (glibcRank(a) >= glibcRank(b) ? a : b));
    assert.ok(glibcRank(newest) <= glibcRank(GLIBC_FLOOR), `${name} needs GLIBC_${newest}, newer than ${GLIBC_FLOOR}`);
  }
});

test('npx tsvmm --version runs the installed bin', { skip }, () => {
  assert.equal(run('npx', ['--no-install', 'tsvmm', '--version'], app), `tsvmm ${VERSION}\n`);
});

/** What entry.mjs prints. */
interface EntryReport {
  names: string[];
  resolved: string;
  version: string;
  usage: string;
  parsed: { kind: string; config?: { kernel: string; memoryBytes: number } };
  usageError: string;
  defaults: { kernel: string; cpus: number };
}

test("import 'tsvmm' gives the entry's exports (ESM), through the exports map", { skip }, () => {
  writeFileSync(
    join(app, 'entry.mjs'),
    `import * as tsvmm from 'tsvmm';
const parsed = tsvmm.parseArgs(['-k', 'vmlinux', '-m', '64M']);
let usageError = '';
try { tsvmm.parseArgs(['-k', 'vmlinux', '-m', 'abc']); } catch (err) { usageError = err instanceof tsvmm.UsageError ? err.message : String(err); }
console.log(JSON.stringify({
  names: Object.keys(tsvmm),
  resolved: import.meta.resolve('tsvmm'),
  version: tsvmm.version,
  usage: tsvmm.USAGE.split('\\n')[0],
  parsed,
  usageError,
  defaults: tsvmm.defaultConfig('bzImage'),
}));
`,
  );
  const out = JSON.parse(run(process.execPath, ['entry.mjs'], app)) as EntryReport;
  for (const name of ['createVm', 'Vm', 'VmStartError', 'VmOptionsError', 'VmStateError', 'loadConfigFile', 'parseArgs', 'USAGE', 'UsageError', 'defaultConfig', 'version']) {
    assert.ok(out.names.includes(name), `exports ${name}`);
  }
  assert.equal(out.resolved, pathToFileURL(join(installed, 'dist', 'src', 'index.js')).href);
  assert.equal(out.version, VERSION);
  assert.equal(out.usage, 'Usage: tsvmm -k KERNEL [options]');
  assert.equal(out.parsed.kind, 'run');
  assert.equal(out.parsed.config?.kernel, 'vmlinux');
  assert.equal(out.parsed.config?.memoryBytes, 64 * 1024 * 1024);
  assert.match(out.usageError, /abc/);
  assert.equal(out.defaults.kernel, 'bzImage');
  assert.equal(out.defaults.cpus, 1);
});

test("the package's type declarations type-check a consumer (tsc, NodeNext)", { skip }, () => {
  writeFileSync(
    join(app, 'consumer.mts'),
    `import { createVm, defaultConfig, parseArgs, USAGE, version, type Vm, type VmConfig, type VmOptions } from 'tsvmm';
const config: VmConfig = defaultConfig('bzImage');
const memory: number = config.memoryBytes;
const text: string = USAGE + version + parseArgs(['-V']).kind + memory;
// @ts-expect-error: VmConfig is typed (cpus is a number), not any
const wrong: string = config.cpus;
const options: VmOptions = { kernel: 'bzImage', cpus: 2, disks: [{ path: 'disk.img' }] };
const starting: Promise<Vm> = createVm(options);
// @ts-expect-error: createVm's options are typed (memoryMiB is a number)
const bad: VmOptions = { kernel: 'bzImage', memoryMiB: '512' };
export { text, wrong, starting, bad };
`,
  );
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  // A Node program's types include @types/node: the package's declarations use Buffer.
  const nodeTypes = ['--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types')];
  run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', ...nodeTypes, 'consumer.mts'], app);
});

test('the installed library starts a VMM process: a missing kernel rejects with the CLI\'s one line', { skip }, () => {
  writeFileSync(
    join(app, 'library.mjs'),
    `import { createVm, VmStartError } from 'tsvmm';
try {
  await createVm({ kernel: '/nonexistent/bzImage', memoryMiB: 64 });
  console.log(JSON.stringify({ ok: true }));
} catch (err) {
  console.log(JSON.stringify({ typed: err instanceof VmStartError, message: err.message, code: err.code }));
}
`,
  );
  const out = JSON.parse(run(process.execPath, ['library.mjs'], app)) as { typed: boolean; message: string; code: number };
  assert.deepEqual(out, { typed: true, message: 'kernel /nonexistent/bzImage: no such file', code: 1 });
});

test("the installed package loads its linux-x64 prebuild and calls into it", { skip }, () => {
  writeFileSync(
    join(app, 'addon.mjs'),
    `import { createRequire } from 'node:module';
const { native } = await import('./node_modules/tsvmm/dist/src/native/addon.js');
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.endsWith('.node'));
console.log(JSON.stringify({ tid: native.gettid(), pid: process.pid, loaded }));
`,
  );
  const out = JSON.parse(run(process.execPath, ['addon.mjs'], app)) as { tid: number; pid: number; loaded: string[] };
  assert.deepEqual(out.loaded, [join(installed, 'prebuilds', 'linux-x64', 'node.napi.glibc.node')]);
  assert.equal(out.tid, out.pid, "gettid() on the main thread is the process's pid");
});
