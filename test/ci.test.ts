// CI must fail on a machine that cannot run everything, not pass by
// skipping: missing packages are named up front (scripts/check-packages.sh),
// tests that boot guests fail without /dev/kvm or a test host when
// TSVMM_REQUIRE_KVM=1, and tests that use Debian's kernel get it fetched or
// fail. None of these needs KVM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KvmRequiredError, ROOT, kvmUnavailable } from './helpers/tsvmm.js';

/** Runs a command in the repository; NODE_TEST_CONTEXT is dropped so that a nested `node --test` reports as on its own. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const base = { ...process.env };
  delete base['NODE_TEST_CONTEXT'];
  return spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: { ...base, ...env }, timeout: 120_000 });
}

test('kvmUnavailable: a missing /dev/kvm skips, unless TSVMM_REQUIRE_KVM=1 makes it a failure', () => {
  const saved = { dev: process.env['TSVMM_KVM_DEVICE'], req: process.env['TSVMM_REQUIRE_KVM'] };
  try {
    process.env['TSVMM_KVM_DEVICE'] = '/nonexistent/kvm';
    delete process.env['TSVMM_REQUIRE_KVM'];
    assert.match(kvmUnavailable() ?? '', /\/nonexistent\/kvm does not exist/);
    process.env['TSVMM_REQUIRE_KVM'] = '1';
    assert.throws(() => kvmUnavailable(), KvmRequiredError);
  } finally {
    for (const [k, v] of [['TSVMM_KVM_DEVICE', saved.dev], ['TSVMM_REQUIRE_KVM', saved.req]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('the test runner: without KVM or a test host the guest tests skip, and with TSVMM_REQUIRE_KVM=1 they fail', () => {
  // CI sets TSVMM_REQUIRE_KVM=1 for everything it runs: the relaxed run turns it off.
  const env = { TSVMM_TESTHOST: '0', TSVMM_KVM_DEVICE: '/nonexistent/kvm', TSVMM_REQUIRE_KVM: '0' };
  const relaxed = run(process.execPath, ['scripts/run-tests.mjs', 'dist/test/kvm/guests.test.js'], env);
  assert.equal(relaxed.status, 0, relaxed.stdout + relaxed.stderr);
  assert.match(relaxed.stdout, /0 failed, [1-9]\d* skipped/);
  const strict = run(process.execPath, ['scripts/run-tests.mjs', 'dist/test/kvm/guests.test.js'], { ...env, TSVMM_REQUIRE_KVM: '1' });
  assert.equal(strict.status, 1, strict.stdout + strict.stderr);
  assert.match(strict.stdout + strict.stderr, /TSVMM_REQUIRE_KVM=1 but \/nonexistent\/kvm does not exist/);
});

test('the test runner: tests that use Debian\'s kernel fail the run when it cannot be had, instead of skipping', () => {
  const r = run(process.execPath, ['scripts/run-tests.mjs', 'dist/test/kvm/linux_banner.test.js'], { TSVMM_TESTHOST: '0', TSVMM_DEBIAN_BZIMAGE: '/nonexistent/vmlinuz' });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /Debian's kernel, which some of these tests boot or parse, is not available: TSVMM_DEBIAN_BZIMAGE=\/nonexistent\/vmlinuz does not exist/);
});

/** The lines check-packages.sh prints for what is missing, with PATH set to `path`. */
function missingWith(path: string): { status: number | null; missing: string[]; summary: string } {
  const r = run('bash', ['scripts/check-packages.sh'], { PATH: path });
  return { status: r.status, missing: r.stdout.split('\n').filter((l) => l.startsWith('missing: ')), summary: r.stderr.trim() };
}

test('check-packages.sh names each missing command with its package, in one line, and fails', () => {
  const baseline = missingWith(process.env['PATH'] ?? '');
  // PATH without dtc: a directory of links to every command of PATH's directories but dtc.
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-path-'));
  try {
    for (const d of (process.env['PATH'] ?? '').split(delimiter)) {
      let names: string[] = [];
      try {
        names = readdirSync(d);
      } catch {
        continue;
      }
      for (const n of names) {
        if (n === 'dtc') continue;
        try {
          symlinkSync(join(d, n), join(dir, n));
        } catch {
          // an earlier PATH entry has it: PATH order
        }
      }
    }
    const without = missingWith(dir);
    assert.equal(without.status, 1);
    assert.deepEqual(without.missing.filter((l) => !baseline.missing.includes(l)), ['missing: dtc (Debian package device-tree-compiler): the arm64 device tree tests decompile the blob']);
    assert.match(without.summary, /^check-packages: \d+ missing; install: apt-get install -y --no-install-recommends .*device-tree-compiler/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('.ci/run installs what check-packages.sh lists, checks it before anything runs, and requires KVM and Debian\'s kernel', () => {
  const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
  const at = (re: RegExp): number => {
    const m = re.exec(ci);
    assert.ok(m, `.ci/run has ${re}`);
    return m.index;
  };
  const install = at(/PACKAGES\+=\(\$\(bash scripts\/check-packages\.sh --packages\)\)/);
  const aptGet = at(/apt-get install/);
  const check = at(/\n\s*bash scripts\/check-packages\.sh\s*\n/);
  const npmCi = at(/\n\s*npm ci\b/);
  assert.ok(install < aptGet && aptGet < check && check < npmCi, 'packages from the list, installed, checked, then npm ci');
  assert.ok(at(/export TSVMM_REQUIRE_KVM=1/) < at(/\n\s*npm test\b/), 'TSVMM_REQUIRE_KVM=1 before npm test');
  assert.doesNotMatch(ci, /banner tests will skip/);
  const listed = run('bash', ['scripts/check-packages.sh', '--packages']).stdout.trim().split('\n');
  assert.ok(listed.length > 20 && listed.includes('libc6-dev-arm64-cross') && listed.includes('qemu-system-arm'), listed.join(' '));
});
