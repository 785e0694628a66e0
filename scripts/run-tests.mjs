#!/usr/bin/env node
// Runs every compiled test (dist/**/*.test.js) with Node's built-in runner.
//
// Tests under dist/test/kvm/ boot guests and need /dev/kvm. Where the host has
// one, they run here like the rest. Where it has none, they run inside the
// test host (scripts/testhost/: a QEMU VM whose virtual CPU has SVM, so KVM
// works in it), unless TSVMM_TESTHOST=0; without QEMU they run here and skip,
// printing why; with TSVMM_REQUIRE_KVM=1 (CI: .ci/run) they fail instead,
// so CI cannot pass without booting a guest (test/helpers/tsvmm.ts).
//
// A host whose KVM is the nested "PVM" flavour (/sys/module/kvm_pvm) runs the
// test guests and a kernel up to its banner, but no guest's user space and no
// kernel past its int3 self-test. The test files that need that call
// fullGuestUnavailable() (test/helpers/tsvmm.ts): there they run in the test
// host, the rest of test/kvm/ on the host's /dev/kvm.
//
// Tests that use Debian's kernel get it first: fetched and cached
// (scripts/fetch-debian-kernel.sh) and its vmlinux extracted; if that fails,
// the run fails with one line instead of those tests skipping.
//
// Usage: node scripts/run-tests.mjs [substring-filter ...]
// Ends with one line "N passed, N failed, N skipped" summing every run.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { newTotals, runCounting, totalsLine } from './lib/tap_totals.mjs';
import { ensureDebianKernel, needsDebianKernel } from './lib/debian_kernel.mjs';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
// test/boot/ holds the slow full-boot tests: run only when asked for by name (npm run test:boot).
const BOOT_DIR = join('dist', 'test', 'boot');
const files = walk('dist', [])
  .filter((f) => (filters.length === 0 ? !f.startsWith(BOOT_DIR) : filters.some((s) => f.includes(s))))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/ (did `npm run build` run?)');
  process.exit(1);
}
const kvmFiles = files.filter((f) => f.startsWith(join('dist', 'test', 'kvm')) || f.startsWith(BOOT_DIR));

const kvmDevice = process.env.TSVMM_KVM_DEVICE || '/dev/kvm';
const hasQemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { stdio: 'ignore' }).status === 0;
const testhostAllowed = process.env.TSVMM_TESTHOST !== '0' && process.arch === 'x64';
const pvmHost = existsSync('/sys/module/kvm_pvm');
const noKvm = !existsSync(kvmDevice);
// Which KVM files go to the test host: all of them without /dev/kvm; on a
// PVM host, those that need a whole guest.
const needsFullGuest = (f) => readFileSync(f, 'utf8').includes('fullGuestUnavailable');
const testhostFiles = !testhostAllowed ? [] : noKvm ? kvmFiles : pvmHost ? kvmFiles.filter(needsFullGuest) : [];
const hereFiles = files.filter((f) => !testhostFiles.includes(f));

if (needsDebianKernel(files)) {
  const bz = ensureDebianKernel();
  if (bz instanceof Error) {
    console.error(`# Debian's kernel, which some of these tests boot or parse, is not available: ${bz.message}`);
    process.exit(1);
  }
  process.env.TSVMM_DEBIAN_BZIMAGE ??= bz;
}

const totals = newTotals();

const run = (cmd, args) => runCounting(spawn, cmd, args, totals);

const nodeTest = (list, concurrency) => [process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=tap', ...list]];

let status = 0;
if (hereFiles.length > 0) status |= await run(...nodeTest(hereFiles, 2));
if (testhostFiles.length > 0) {
  if (!hasQemu) console.log('# qemu-system-x86_64 is not installed: scripts/testhost/prepare.sh installs it');
  const why = noKvm
    ? `${kvmDevice} is absent`
    : "this host's KVM is the nested PVM flavour (/sys/module/kvm_pvm), which runs neither a guest's user space nor Linux past its int3 self-test";
  console.log(`# ${why}: running ${testhostFiles.length} KVM test file(s) inside the test host (scripts/testhost)`);
  const [node, args] = nodeTest(testhostFiles, 1);
  status |= await run('scripts/testhost/run-in-kvm-host.sh', ['--', node, ...args]);
}
console.log(totalsLine(totals));
process.exit(status === 0 && totals.fail === 0 ? 0 : 1);
