// The shell shared by both test hosts (scripts/lib/testhost.sh on the host
// side, testhost-prepare.sh for building their initramfs), run for real on
// scratch folders: no QEMU, no VM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LIB = fileURLToPath(new URL('../../../scripts/lib/', import.meta.url));

/** Runs `script` in bash with the library sourced; the arguments are "$@". */
function bash(lib: string, script: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync('bash', ['-c', `set -euo pipefail; log() { echo "$*" >&2; }; . ${LIB}${lib}; ${script}`, 'bash', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  assert.equal(r.status, 0, `bash failed: ${r.stderr}`);
  return r.stdout;
}

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-testhost-lib-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const AWKWARD = ['plain', 'two words', "it's", '$HOME', '`date`', 'back\\slash', 'new\nline', '', '*', "'", '"'];

test('th_write_cmd: cmd.sh gives the command its arguments back as they were, in bash and in a POSIX sh', (t) => {
  const job = scratch(t);
  bash('testhost.sh', 'job=$JOB; th_cmd_preamble="export PREBUILDS_ONLY=1"; th_write_cmd "LANG TSVMM_UNSET" printf "<%s>\\n" "$@"', AWKWARD, {
    JOB: job,
    LANG: "C.UTF-8 'quoted'",
    TSVMM_EXTRA: 'a b',
  });
  const cmd = readFileSync(join(job, 'cmd.sh'), 'utf8');
  assert.match(cmd, /^cd '.*' \|\| exit 125\nexport PREBUILDS_ONLY=1\n/);
  assert.ok(!cmd.includes('TSVMM_UNSET'), 'unset variables are left out');
  const expected = AWKWARD.map((a) => `<${a}>\n`).join('');
  for (const shell of ['bash', 'sh']) {
    const r = spawnSync(shell, [join(job, 'cmd.sh')], { encoding: 'utf8', env: {} });
    assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
    assert.equal(r.stdout, expected, shell);
  }
  const vars = spawnSync('sh', ['-c', `${cmd.replace(/^exec .*$/m, '')}\nprintf '%s|%s|%s' "$LANG" "$TSVMM_EXTRA" "$PREBUILDS_ONLY"`], { encoding: 'utf8', env: {} });
  assert.equal(vars.stdout, "C.UTF-8 'quoted'|a b|1");
});

test('th_share_rw: one share per TESTHOST_RW dir, listed with its 9p cache mode for the VM', (t) => {
  const job = scratch(t);
  const a = join(job, 'a');
  const b = join(job, 'b');
  mkdirSync(a);
  mkdirSync(b);
  const out = bash('testhost.sh', 'job=$JOB; p9dev=virtio-9p-pci; th_share_rw /unused loose; printf "%s\\n" "${qemu_args[@]}"', [], { JOB: job, TESTHOST_RW: `${a}::${b}` });
  assert.equal(readFileSync(join(job, 'mounts'), 'utf8'), `rw0 loose ${a}\nrw1 loose ${b}\n`);
  const device = (i: number, d: string): string => `-fsdev\nlocal,id=fs${i},path=${d},security_model=none,multidevs=remap\n-device\nvirtio-9p-pci,fsdev=fs${i},mount_tag=rw${i}\n`;
  assert.equal(out, device(0, a) + device(1, b));
  bash('testhost.sh', 'job=$JOB; p9dev=x; th_share_rw "$1"', [a], { JOB: job });
  assert.equal(readFileSync(join(job, 'mounts'), 'utf8'), `rw0 mmap ${a}\n`, 'default: the repository, cache=mmap');
});

test('th_copy_modules: the modules asked for and everything they depend on, - and _ alike, plus the index files', (t) => {
  const dir = scratch(t);
  const kmods = join(dir, 'k/lib/modules/6.1.0');
  const ko = ['kernel/net/9p/9pnet_virtio.ko', 'kernel/net/9p/9pnet.ko', 'kernel/fs/netfs/netfs.ko', 'kernel/drivers/net/tun.ko', 'kernel/sound/snd.ko'];
  for (const k of ko) {
    mkdirSync(join(kmods, k, '..'), { recursive: true });
    writeFileSync(join(kmods, k), k);
  }
  writeFileSync(
    join(kmods, 'modules.dep'),
    'kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko\nkernel/net/9p/9pnet.ko: kernel/fs/netfs/netfs.ko\nkernel/fs/netfs/netfs.ko:\nkernel/drivers/net/tun.ko:\nkernel/sound/snd.ko:\n',
  );
  writeFileSync(join(kmods, 'modules.order'), 'order');
  const rd = join(dir, 'rd');
  const log = bash('testhost-prepare.sh', `kver=6.1.0; kmods=${kmods}; modules="9pnet-virtio tun"; depmod=(echo depmod); th_copy_modules ${rd} modules.order`);
  const got = spawnSync('find', [join(rd, 'lib/modules/6.1.0'), '-type', 'f'], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .map((f) => f.slice(join(rd, 'lib/modules/6.1.0/').length))
    .sort();
  assert.deepEqual(got, ['kernel/drivers/net/tun.ko', 'kernel/fs/netfs/netfs.ko', 'kernel/net/9p/9pnet.ko', 'kernel/net/9p/9pnet_virtio.ko', 'modules.order']);
  assert.equal(log, `depmod -b ${rd} 6.1.0\n`);
});

test('th_key: moves with the lines given, the host\'s files and the shared init steps', (t) => {
  const dir = scratch(t);
  const init = join(dir, 'init.sh');
  writeFileSync(init, 'one');
  const key = (lines: string, lib = LIB): string => {
    const r = spawnSync('bash', ['-c', `set -eu; log() { :; }; . "$1/testhost-prepare.sh"; printf '%s' "$2" | th_key "$3"`, 'bash', lib, lines, init], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  const base = key('pkg_1.deb');
  assert.match(base, /^[0-9a-f]{16}$/);
  assert.equal(key('pkg_1.deb'), base);
  assert.notEqual(key('pkg_2.deb'), base);
  writeFileSync(init, 'two');
  assert.notEqual(key('pkg_1.deb'), base, 'the host file counts');
  writeFileSync(init, 'one');
  const lib = join(dir, 'lib');
  mkdirSync(lib);
  for (const f of readdirSync(LIB)) writeFileSync(join(lib, f), readFileSync(join(LIB, f)));
  writeFileSync(join(lib, 'testhost-init.sh'), `${readFileSync(join(LIB, 'testhost-init.sh'), 'utf8')}# changed\n`);
  assert.notEqual(key('pkg_1.deb', `${lib}/`), base, 'the shared init steps count');
});
