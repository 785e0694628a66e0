#!/usr/bin/env node
// Runs the arm64 tests (test/arm64/) inside the arm64 test host
// (scripts/testhost-arm64/: an emulated arm64 machine whose kernel runs KVM).
//
// 1. build: tsc into the output dir (as `npm run build`, without deleting it);
// 2. prepare: the VM's kernel and root, cached (scripts/testhost-arm64/prepare.sh);
// 3. addon: the N-API addon cross-built for arm64 (prebuilds/linux-arm64/, which
//    node-gyp-build loads in the VM: run.sh sets PREBUILDS_ONLY);
// 4. run: `node --test` on <outdir>/test/arm64/*.test.js under Node.js arm64 in the VM.
//
// Usage: node scripts/run-arm64-tests.mjs [--outdir DIR | --dist DIR] [--no-build] [substring-filter ...]
//   --outdir DIR  where tsc writes and the tests are read from (default dist). It must be
//                 a top-level directory of the repository: the addon's path is relative.
//   --no-build    use what DIR holds.
// Ends with one line "N passed, N failed, N skipped".
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import { newTotals, runCounting, totalsLine } from './lib/tap_totals.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root); // the VM keeps the cwd: the repository is shared at the same path

let outDir = 'dist';
let build = true;
const filters = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--outdir' || a === '--dist') {
    outDir = argv[++i] ?? '';
    if (!outDir) usage('--outdir needs a directory');
  } else if (a === '--no-build') build = false;
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else filters.push(a);
}
const rel = relative(root, resolve(outDir));
if (rel === '' || rel.startsWith('..') || rel.includes('/')) usage(`${outDir} is not a top-level directory of ${root}`);

function usage(msg) {
  console.error(`run-arm64-tests: ${msg}\nusage: node scripts/run-arm64-tests.mjs [--outdir DIR] [--no-build] [filter ...]`);
  process.exit(2);
}

const totals = newTotals();
const phases = [];

/** Runs a command (its stdout shown or not); resolves to its exit code. */
function step(cmd, args, stdout = 'inherit') {
  return new Promise((res) => {
    const child = spawn(cmd, args, { stdio: ['ignore', stdout, 'inherit'] });
    child.on('error', (err) => {
      console.error(`run-arm64-tests: ${cmd}: ${err.message}`);
      res(127);
    });
    child.on('close', (code) => res(code ?? 1));
  });
}

const runTests = (cmd, args) => runCounting(spawn, cmd, args, totals);

/** Runs fn, recording its wall time under `name`; resolves to fn's exit code. */
async function phase(name, fn) {
  const t0 = performance.now();
  const code = await fn();
  phases.push(`${name} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return code;
}

/** Like phase, but a failure ends the run (counted as one failed test). */
async function mustPass(name, fn) {
  const code = await phase(name, fn);
  if (code !== 0) {
    totals.fail += 1;
    finish(code, `${name} failed (exit ${code})`);
  }
}

function finish(code, why) {
  if (why) console.log(`# run-arm64-tests: ${why}`);
  console.log(`# arm64 phases: ${phases.join(', ')}`);
  console.log(totalsLine(totals));
  process.exit(code === 0 && totals.fail === 0 ? 0 : 1);
}

if (build) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await mustPass('build', () => step(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', rel]));
}
const testDir = join(rel, 'test', 'arm64');
const files = existsSync(testDir)
  ? readdirSync(testDir)
      .filter((f) => f.endsWith('.test.js'))
      .map((f) => join(testDir, f))
      .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
      .sort()
  : [];
if (files.length === 0) {
  totals.fail += 1;
  finish(1, `no test files in ${testDir} (build first, or drop --no-build)`);
}
// Both print a path on stdout, which is not worth showing.
await mustPass('prepare', () => step('scripts/testhost-arm64/prepare.sh', [], 'ignore'));
await mustPass('addon', () => step('scripts/testhost-arm64/build-addon.sh', [], 'ignore'));
// The arm64 guest (Debian's arm64 kernel + busybox initramfs + ext4 disk,
// cached), shared into the VM read/write at its own path beside the
// repository; and a work folder in the repository for the disks the tests write.
let guestDir;
await mustPass('guest', async () => {
  try {
    const { ensureGuest } = await import('./build-guest.mjs');
    guestDir = (await ensureGuest({ variant: 'debian', arch: 'arm64' })).dir;
    return 0;
  } catch (err) {
    console.error(`run-arm64-tests: the arm64 guest: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
});
const work = join(root, '.arm64-run');
rmSync(work, { recursive: true, force: true });
mkdirSync(work);
process.env.TESTHOST_RW = `${root}:${guestDir}`;
process.env.TSVMM_ARM64_GUEST = guestDir;
process.env.TSVMM_ARM64_WORK = work;
// TSVMM_REQUIRE_KVM: in the test host a missing /dev/kvm is a failure, not a skip.
process.env.TSVMM_REQUIRE_KVM = '1';
console.log(`# running ${files.length} test file(s) in the arm64 test host (scripts/testhost-arm64)`);
// gic_fallback.test.js needs a host booted with a GICv2: run apart, below.
const gicv2Files = files.filter((f) => f.endsWith('gic_fallback.test.js'));
const mainFiles = files.filter((f) => !gicv2Files.includes(f));
let code = await phase('test host', () =>
  runTests('scripts/testhost-arm64/run.sh', ['--', 'node', '--test', '--test-concurrency=1', '--test-reporter=tap', ...mainFiles]),
);

// The same banner boot on an arm64 host whose GIC is a GICv2: its KVM offers
// only a vGICv2, and tsvmm must fall back to it (about one more minute).
if (gicv2Files.length > 0) {
  process.env.TESTHOST_GIC = '2';
  process.env.TSVMM_ARM64_HOST_GIC = '2';
  console.log('# on an arm64 host with a GICv2 (TESTHOST_GIC=2)');
  const code2 = await phase('test host (GICv2)', () =>
    runTests('scripts/testhost-arm64/run.sh', ['--', 'node', '--test', '--test-reporter=tap', ...gicv2Files]),
  );
  if (code2 !== 0 && code === 0) code = code2;
  delete process.env.TESTHOST_GIC;
}

// Back on this host: the disk the arm64 guest wrote (test/arm64/boot.test.ts
// leaves it in the work folder) holds the file, and e2fsck finds it clean.
const disk = join(work, 'disk-shell.img');
if (existsSync(disk)) {
  const cat = spawnSync('debugfs', ['-R', 'cat /hello.txt', disk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const fsck = spawnSync('e2fsck', ['-fn', disk], { encoding: 'utf8' });
  const ok = cat.stdout === 'written-by-arm64-guest\n' && fsck.status === 0;
  console.log(`${ok ? 'ok' : 'not ok'} - host: the arm64 guest's disk holds /hello.txt (debugfs) and e2fsck -fn finds it clean`);
  if (!ok) console.log(`# debugfs: ${JSON.stringify(cat.stdout)}; e2fsck exit ${fsck.status}: ${fsck.stdout.slice(-500)}`);
  totals[ok ? 'pass' : 'fail'] += 1;
}
// The disk four parallel jobs of the 2-vCPU guest wrote (test (5)).
const smpDisk = join(work, 'disk-smp.img');
if (existsSync(smpDisk)) {
  const read = [1, 2, 3, 4].map((i) => spawnSync('debugfs', ['-R', `cat /job${i}.txt`, smpDisk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).stdout);
  const fsck = spawnSync('e2fsck', ['-fn', smpDisk], { encoding: 'utf8' });
  const ok = read.every((t, i) => t === `arm64-job-${i + 1}\n`) && fsck.status === 0;
  console.log(`${ok ? 'ok' : 'not ok'} - host: the 2-vCPU arm64 guest's four jobs wrote /job1-4.txt (debugfs) and e2fsck -fn finds the disk clean`);
  if (!ok) console.log(`# debugfs: ${JSON.stringify(read)}; e2fsck exit ${fsck.status}: ${fsck.stdout.slice(-500)}`);
  totals[ok ? 'pass' : 'fail'] += 1;
}
finish(code);
