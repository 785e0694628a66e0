import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IO_URING_LINK, IoUringOpenError, openIoUringFds, refuseOpenIoUring } from './io_uring.js';

test('openIoUringFds lists exactly the fds whose link is an io_uring instance', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-fds-'));
  try {
    symlinkSync(IO_URING_LINK, join(dir, '9'));
    symlinkSync('anon_inode:[eventfd]', join(dir, '3'));
    symlinkSync(IO_URING_LINK, join(dir, '12'));
    symlinkSync('/dev/kvm', join(dir, '4'));
    assert.deepEqual(openIoUringFds(dir), [9, 12]);
    assert.throws(() => refuseOpenIoUring(dir), (e: unknown) => e instanceof IoUringOpenError && /fd 9, 12/.test(e.message) && /UV_USE_IO_URING=0/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs a Node child that reports what the check sees in its own process. */
function childSees(uvUseIoUring: string): number[] {
  const mod = new URL('./io_uring.js', import.meta.url).href;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `import { openIoUringFds } from ${JSON.stringify(mod)}; console.log(JSON.stringify(openIoUringFds()));`], {
    env: { ...process.env, UV_USE_IO_URING: uvUseIoUring },
    encoding: 'utf8',
  });
  return JSON.parse(out) as number[];
}

// 0: io_uring on; 1: only for privileged processes; 2: off (sysctl kernel.io_uring_disabled, Linux 6.6+).
const disabled = existsSync('/proc/sys/kernel/io_uring_disabled') && readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim() === '2';

test('a Node process started with UV_USE_IO_URING=1 has rings the check finds; with 0 it has none', { skip: disabled && 'io_uring is disabled on this kernel' }, () => {
  // libuv 1.45+ (Node 20.3+) sets up its rings with the event loop, before any user code.
  assert.ok(childSees('1').length > 0, `no io_uring fd in a Node ${process.version} child with UV_USE_IO_URING=1`);
  assert.deepEqual(childSees('0'), []);
});
