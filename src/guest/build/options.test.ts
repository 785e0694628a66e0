import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTarget, GuestBuildError, parseBuildArgs, usage } from './options.js';

test('parseBuildArgs: defaults follow the host (custom x86_64; debian arm64 on arm64)', () => {
  assert.deepEqual(parseBuildArgs([], 'x64', 2), { variant: 'custom', arch: 'x86_64', force: false, jobs: 2, help: false });
  assert.deepEqual(parseBuildArgs([], 'arm64', 8), { variant: 'debian', arch: 'arm64', force: false, jobs: 8, help: false });
});

test('parseBuildArgs: --kernel, --arch (spaced or with =), --force, --jobs/-j, --help', () => {
  assert.deepEqual(parseBuildArgs(['--kernel', 'debian', '--arch=arm64', '--force', '-j', '3'], 'x64', 2), {
    variant: 'debian',
    arch: 'arm64',
    force: true,
    jobs: 3,
    help: false,
  });
  const b = parseBuildArgs(['--kernel=debian', '--arch', 'x86_64', '--jobs', '1', '-h'], 'x64', 2);
  assert.equal(b.variant, 'debian');
  assert.equal(b.arch, 'x86_64');
  assert.equal(b.jobs, 1);
  assert.equal(b.help, true);
});

test('parseBuildArgs: unknown options, missing values and bad --jobs are errors', () => {
  assert.throws(() => parseBuildArgs(['--kernal', 'x'], 'x64', 2), (e: Error) => e instanceof GuestBuildError && /unknown option --kernal/.test(e.message));
  assert.throws(() => parseBuildArgs(['--arch'], 'x64', 2), /--arch needs a value/);
  for (const j of ['0', '-1', '1.5', 'two']) assert.throws(() => parseBuildArgs(['--jobs', j], 'x64', 2), /--jobs must be a positive integer/, j);
});

test('checkTarget: variants, architectures, and no custom kernel for arm64', () => {
  assert.deepEqual(checkTarget('custom', 'x86_64'), { variant: 'custom', arch: 'x86_64' });
  assert.deepEqual(checkTarget('debian', 'arm64'), { variant: 'debian', arch: 'arm64' });
  assert.throws(() => checkTarget('stock', 'x86_64'), /--kernel must be custom or debian, not "stock"/);
  assert.throws(() => checkTarget('debian', 'riscv64'), /--arch must be x86_64 or arm64, not "riscv64"/);
  assert.throws(() => checkTarget('custom', 'arm64'), /custom kernel is x86_64 only/);
});

test('usage names every option and the cache folder', () => {
  const u = usage('/c/tsvmm/guest');
  for (const o of ['--kernel custom', '--kernel debian', '--arch arm64', '--force', '--jobs N']) assert.ok(u.includes(o), o);
  assert.match(u, /Artefacts go to \/c\/tsvmm\/guest\/<hash>\/\.$/);
});
