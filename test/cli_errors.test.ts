// Bad input of every kind ends in one clear line on stderr and a non-zero
// exit, before the guest runs (issue: "Bad input, each a test").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTsvmm, ROOT } from './helpers/tsvmm.js';
import { makeElf64, EM_AARCH64, EM_X86_64 } from './helpers/elf.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvmm-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, data: Uint8Array | string): string => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};

// `out; hlt` loop: a valid x86_64 kernel for the checks that come after parsing.
const goodElf = file('good.elf', makeElf64({ machine: EM_X86_64, code: Uint8Array.from([0xf4, 0xeb, 0xfd]) }));

/** A bzImage header that claims 4 setup sectors and a 64 KiB kernel, cut short. */
function truncatedBzImage(): Uint8Array {
  const b = Buffer.alloc(0x400);
  b[0x1f1] = 4; // setup_sects
  b.writeUInt32LE(0x1000, 0x1f4); // syssize (16-byte paragraphs) = 64 KiB
  b.writeUInt16LE(0xaa55, 0x1fe);
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(0x020f, 0x206);
  b[0x211] = 0x01; // LOADED_HIGH
  return b;
}

async function expectOneLineError(args: string[], pattern: RegExp, env?: NodeJS.ProcessEnv): Promise<void> {
  const r = await runTsvmm(args, { env });
  assert.notEqual(r.code, 0, `exit code for ${args.join(' ')}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `exactly one line on stderr, got: ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0]!, /^tsvmm: /);
  assert.match(lines[0]!, pattern);
  assert.equal(r.stdout, '', 'nothing on stdout');
}

test('no -k', () => expectOneLineError([], /no kernel given/));
test('a missing kernel file', () => expectOneLineError(['-k', join(dir, 'missing')], /missing: no such file/));
test('a directory as kernel', () => expectOneLineError(['-k', dir], /is a directory/));
test('random bytes as kernel', () => expectOneLineError(['-k', file('random', randomBytes(4096))], /not a (bzImage|kernel|recognised)|unknown|format/i));
test('a truncated bzImage', () => expectOneLineError(['-k', file('trunc', truncatedBzImage())], /truncated|too short|shorter/i));
test('an ELF for another machine', () =>
  expectOneLineError(['-k', file('arm.elf', makeElf64({ machine: EM_AARCH64, code: new Uint8Array(16) }))], /aarch64|machine|183/i));
test('an initrd larger than RAM', () => expectOneLineError(['-k', goodElf, '-i', file('big.initrd', Buffer.alloc(17 << 20)), '-m', '16M'], /initrd/));
test('-m 0', () => expectOneLineError(['-k', goodElf, '-m', '0'], /greater than zero/));
test('-m 1T', () => expectOneLineError(['-k', goodElf, '-m', '1T'], /more than this host/));
test('-m abc', () => expectOneLineError(['-k', goodElf, '-m', 'abc'], /not a size/));
test('a KVM device path that does not exist', () =>
  expectOneLineError(['-k', goodElf, '-m', '64M'], /\/nonexistent\/kvm does not exist/, { TSVMM_KVM_DEVICE: '/nonexistent/kvm' }));
test('a KVM device path that cannot be opened as KVM', () =>
  expectOneLineError(['-k', goodElf, '-m', '64M'], /cannot open|not a KVM device/, { TSVMM_KVM_DEVICE: dir }));
test('a KVM device path that is not KVM', () => expectOneLineError(['-k', goodElf, '-m', '64M'], /\/dev\/null is not a KVM device/, { TSVMM_KVM_DEVICE: '/dev/null' }));

for (const bad of ['0', '1000', 'abc']) {
  test(`--cpus ${bad}: one line and exit 2`, async () => {
    await expectOneLineError(['-k', goodElf, '--cpus', bad], /--cpus/);
    assert.equal((await runTsvmm(['-k', goodElf, '--cpus', bad])).code, 2);
  });
}

test('--api-sock at a path that exists: one line, the file left alone', async () => {
  const p = file('taken.sock', 'not a socket');
  await expectOneLineError(['--api-sock', p], /taken\.sock.*(exists|in use)/i);
  assert.equal(readFileSync(p, 'utf8'), 'not a socket');
});
test('--api-sock with -k: the VM is described by one or the other (exit 2)', async () => {
  await expectOneLineError(['--api-sock', join(dir, 'x.sock'), '-k', goodElf], /-k: with --api-sock the VM is described there/);
  assert.equal((await runTsvmm(['--api-sock', join(dir, 'x.sock'), '-k', goodElf])).code, 2);
});
test('--config-file that is not JSON: one line naming the file, exit 2', async () => {
  const p = file('bad.json', '{ "boot-source": ');
  await expectOneLineError(['--config-file', p], /bad\.json/);
  assert.equal((await runTsvmm(['--config-file', p])).code, 2);
});
test('--config-file whose kernel is missing: the VMM\'s one line', () =>
  expectOneLineError(['--config-file', file('nokernel.json', JSON.stringify({ 'boot-source': { kernel_image_path: join(dir, 'nope') }, drives: [] }))], /nope: no such file/));
test('--metrics-interval without --metrics', () => expectOneLineError(['-k', goodElf, '--metrics-interval', '5'], /needs --metrics FILE/));

test('--help prints the usage and exits 0', async () => {
  const r = await runTsvmm(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: tsvmm -k KERNEL/);
  assert.match(r.stdout, /Ctrl-A x/);
  assert.match(r.stdout, /-c, --cpus N/);
});

test('--version prints the package version', async () => {
  const r = await runTsvmm(['--version']);
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(r.stdout.trim(), `tsvmm ${pkg.version}`);
});

test('a missing disk image', () => expectOneLineError(['-k', goodElf, '-m', '64M', '-d', join(dir, 'nodisk.img')], /disk image .*nodisk\.img/));
test('a disk image whose size is not a multiple of 512', async () => {
  const p = file('odd.img', Buffer.alloc(1000, 7));
  await expectOneLineError(['-k', goodElf, '-m', '64M', '-d', p], /512/);
  assert.equal(readFileSync(p).length, 1000, 'the image is not truncated');
  assert.ok(readFileSync(p).every((b) => b === 7), 'nor changed');
});

test('a TAP that cannot be created (no CAP_NET_ADMIN) ends in one line', async (t) => {
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  if (setpriv === undefined) {
    t.skip('setpriv (util-linux) is not installed');
    return;
  }
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(setpriv, ['--bounding-set=-net_admin', '--inh-caps=-net_admin', process.execPath, `${ROOT}bin/tsvmm`, '-k', goodElf, '-m', '64M', '--net', 'tap'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^tsvmm: .*(CAP_NET_ADMIN|permission|EPERM)/i);
});
