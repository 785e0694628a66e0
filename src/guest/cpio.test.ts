import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpioEntryError, NEWC, writeNewc, type CpioEntry } from './cpio.js';

const decoder = new TextDecoder();
const isRoot = process.getuid?.() === 0;
const hasCpio = spawnSync('cpio', ['--version'], { stdio: 'ignore' }).status === 0;
const noCpio = hasCpio ? false : 'the cpio tool is not installed (apt-get install cpio)';

const payload = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
const SAMPLE: readonly CpioEntry[] = [
  { kind: 'dir', path: 'bin', mode: 0o755 },
  { kind: 'dir', path: 'dev', mode: 0o755 },
  { kind: 'dir', path: 'etc', mode: 0o700 },
  { kind: 'file', path: 'bin/tool', mode: 0o755, data: payload },
  // Name lengths 1..4 exercise every name padding; sizes 0..3 every data padding.
  { kind: 'file', path: 'a', mode: 0o644, data: new Uint8Array(0) },
  { kind: 'file', path: 'ab', mode: 0o600, data: new Uint8Array([1]) },
  { kind: 'file', path: 'abc', mode: 0o640, data: new Uint8Array([1, 2]) },
  { kind: 'file', path: 'abcd', mode: 0o444, data: new Uint8Array([1, 2, 3]) },
  { kind: 'file', path: 'etc/setuid', mode: 0o4755, data: new TextEncoder().encode('#!/bin/sh\n') },
  { kind: 'symlink', path: 'bin/sh', target: 'tool' },
  { kind: 'symlink', path: 'etc/abs', target: '/bin/tool' },
  { kind: 'chardev', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
  { kind: 'blockdev', path: 'dev/vda', mode: 0o660, major: 254, minor: 0 },
];

function runCpio(args: string[], archive: Uint8Array, cwd: string): string {
  const r = spawnSync('cpio', args, { input: archive, cwd, encoding: 'buffer' });
  assert.equal(r.status, 0, `cpio ${args.join(' ')} failed: ${decoder.decode(r.stderr)}`);
  return decoder.decode(r.stdout);
}

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-cpio-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('newc: header layout, 4-byte padding of names and data, trailer last', () => {
  const a = writeNewc([{ kind: 'file', path: 'abc', mode: 0o644, data: new Uint8Array([9, 8, 7, 6, 5]) }]);
  const text = decoder.decode(a.subarray(0, NEWC.HEADER_SIZE));
  assert.equal(text.slice(0, 6), '070701');
  const field = (i: number): number => parseInt(text.slice(6 + i * 8, 14 + i * 8), 16);
  assert.equal(field(1), 0o100644, 'mode');
  assert.equal(field(5), 0, 'mtime');
  assert.equal(field(6), 5, 'filesize');
  assert.equal(field(11), 4, 'namesize includes the NUL');
  // 110 + 4 = 114 -> padded to 116; data 5 -> padded to 8.
  assert.equal(decoder.decode(a.subarray(110, 113)), 'abc');
  assert.deepEqual([...a.subarray(113, 116)], [0, 0, 0]);
  assert.deepEqual([...a.subarray(116, 121)], [9, 8, 7, 6, 5]);
  assert.deepEqual([...a.subarray(121, 124)], [0, 0, 0]);
  assert.equal(decoder.decode(a.subarray(124, 130)), '070701');
  assert.equal(decoder.decode(a.subarray(124 + 110, 124 + 120)), 'TRAILER!!!');
  assert.equal(a.length % 4, 0);
});

test('newc: the same entries give the same bytes (mtime 0, inode numbers in order)', () => {
  assert.deepEqual(writeNewc(SAMPLE), writeNewc(SAMPLE));
});

test('newc: refuses bad paths, modes, duplicates and missing parents', () => {
  const bad: Array<[CpioEntry[], RegExp]> = [
    [[{ kind: 'dir', path: '/bin', mode: 0o755 }], /leading/],
    [[{ kind: 'dir', path: 'a/../b', mode: 0o755 }], /component/],
    [[{ kind: 'dir', path: '', mode: 0o755 }], /empty path/],
    [[{ kind: 'file', path: 'x', mode: 0o100644, data: new Uint8Array(0) }], /outside 0o7777/],
    [[{ kind: 'file', path: 'bin/x', mode: 0o644, data: new Uint8Array(0) }], /parent directory "bin"/],
    [[{ kind: 'dir', path: 'd', mode: 0o755 }, { kind: 'dir', path: 'd', mode: 0o755 }], /duplicate/],
    [[{ kind: 'symlink', path: 'l', target: '' }], /symlink target/],
    [[{ kind: 'chardev', path: 'c', mode: 0o600, major: -1, minor: 0 }], /major -1/],
    [[{ kind: 'file', path: 'TRAILER!!!', mode: 0o644, data: new Uint8Array(0) }], /reserved/],
  ];
  for (const [entries, message] of bad) {
    assert.throws(() => writeNewc(entries), (e: unknown) => e instanceof CpioEntryError && message.test(e.message));
  }
});

test('newc: cpio -t lists every member in order, with modes and device numbers', { skip: noCpio }, () => {
  withTempDir((dir) => {
    const archive = writeNewc(SAMPLE);
    const names = runCpio(['-t', '--quiet'], archive, dir).trim().split('\n');
    assert.deepEqual(names, SAMPLE.map((e) => e.path));
    const long = runCpio(['-t', '-v', '--quiet'], archive, dir).trim().split('\n');
    const line = (path: string): string => long.find((l) => l.endsWith(` ${path}`) || l.includes(` ${path} -> `)) ?? '';
    assert.match(line('dev/console'), /^crw------- .* 5,\s+1 /);
    assert.match(line('dev/vda'), /^brw-rw---- .* 254,\s+0 /);
    assert.match(line('etc/setuid'), /^-rwsr-xr-x /);
    assert.match(line('bin/sh'), /^lrwxrwxrwx .* bin\/sh -> tool$/);
    assert.match(line('etc'), /^drwx------ /);
    assert.match(line('bin/tool'), /^-rwxr-xr-x .* 1000 /);
  });
});

test('newc: cpio -i extracts the same contents, modes, links, devices and mtime 0', { skip: noCpio }, () => {
  // Creating device nodes needs root; without it the round trip skips them.
  const entries = isRoot ? SAMPLE : SAMPLE.filter((e) => e.kind !== 'chardev' && e.kind !== 'blockdev');
  withTempDir((dir) => {
    const archivePath = join(dir, 'a.cpio');
    writeFileSync(archivePath, writeNewc(entries));
    const out = join(dir, 'root');
    const r = spawnSync('sh', ['-c', `mkdir "${out}" && cd "${out}" && umask 0 && cpio -i -d -m --no-absolute-filenames --quiet < "${archivePath}"`]);
    assert.equal(r.status, 0, decoder.decode(r.stderr));
    for (const e of entries) {
      const p = join(out, e.path);
      const st = lstatSync(p);
      switch (e.kind) {
        case 'dir':
          assert.ok(st.isDirectory(), e.path);
          assert.equal(st.mode & 0o7777, e.mode, `${e.path} mode`);
          break;
        case 'file':
          assert.ok(st.isFile(), e.path);
          assert.equal(st.mode & 0o7777, e.mode, `${e.path} mode`);
          assert.deepEqual(new Uint8Array(readFileSync(p)), e.data, `${e.path} contents`);
          assert.equal(st.mtimeMs, 0, `${e.path} mtime`);
          break;
        case 'symlink':
          assert.ok(st.isSymbolicLink(), e.path);
          assert.equal(readlinkSync(p), e.target);
          break;
        case 'chardev':
        case 'blockdev': {
          assert.ok(e.kind === 'chardev' ? st.isCharacterDevice() : st.isBlockDevice(), e.path);
          assert.equal(st.mode & 0o7777, e.mode, `${e.path} mode`);
          // Linux dev_t (include/linux/kdev_t.h new_encode_dev) for small numbers.
          assert.equal((st.rdev >>> 8) & 0xfff, e.major, `${e.path} major`);
          assert.equal((st.rdev & 0xff) | ((st.rdev >>> 12) & 0xfff00), e.minor, `${e.path} minor`);
          break;
        }
      }
    }
  });
});
