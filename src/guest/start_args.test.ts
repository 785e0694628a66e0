import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasFlag, parseStartArgs, tsvmmArgs, withAppend } from './start_args.js';

const guest = { bzImage: '/c/bzImage', initramfs: '/c/initramfs.cpio', disk: '/c/disk-rw.img', append: 'rdinit=/init' };

test('parseStartArgs: our options are taken, the rest forwarded in order', () => {
  assert.deepEqual(parseStartArgs([]), { variant: 'custom', freshDisk: false, forward: [] });
  assert.deepEqual(parseStartArgs(['--kernel', 'debian', '--seccomp', '--fresh-disk', '-m', '512M']), {
    variant: 'debian',
    freshDisk: true,
    forward: ['--seccomp', '-m', '512M'],
  });
  assert.equal(parseStartArgs(['--kernel=debian']).variant, 'debian');
  // A file name after --kernel is tsvmm's.
  assert.deepEqual(parseStartArgs(['--kernel', './bzImage']), { variant: 'custom', freshDisk: false, forward: ['--kernel', './bzImage'] });
});

test('tsvmmArgs: the guest files, the init command line, forwarded options last', () => {
  assert.deepEqual(tsvmmArgs(guest, ['--seccomp']), [
    '-k', '/c/bzImage', '-i', '/c/initramfs.cpio', '-d', '/c/disk-rw.img', '--append', 'rdinit=/init', '--seccomp',
  ]);
});

test('tsvmmArgs: a user-given kernel, initrd or disk replaces the guest one', () => {
  const a = tsvmmArgs(guest, ['-d', 'mine.img', '--initrd=x.cpio']);
  assert.ok(!a.includes('/c/disk-rw.img') && !a.includes('/c/initramfs.cpio'));
  assert.ok(a.includes('/c/bzImage'));
  assert.ok(hasFlag(['--disk=a'], ['-d', '--disk']));
  assert.ok(!hasFlag(['--diskette'], ['-d', '--disk']));
});

test('withAppend: the user command line goes after the guest one', () => {
  assert.deepEqual(withAppend(['--append', 'quiet'], 'rdinit=/init'), ['--append', 'rdinit=/init quiet']);
  assert.deepEqual(withAppend(['--cmdline=loglevel=8'], 'rdinit=/init'), ['--cmdline=rdinit=/init loglevel=8']);
  assert.deepEqual(withAppend(['-m', '1G'], 'rdinit=/init'), ['--append', 'rdinit=/init', '-m', '1G']);
});
