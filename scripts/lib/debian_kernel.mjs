// Debian's x86_64 kernel for the tests that boot or parse it (the banner
// tests, the bzImage loader tests): fetched and cached by
// scripts/fetch-debian-kernel.sh, with the vmlinux the banner tests boot
// extracted beside it, before the tests run (the test host's view of the
// cache is read-only, and a test must not skip for want of a download).
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Which compiled test files use the Debian kernel: those that name its helpers. */
export function needsDebianKernel(files) {
  return files.some((f) => /debianBzImagePath|debianVmlinux|debian_kernel\.js/.test(readFileSync(f, 'utf8')));
}

/**
 * Fetches (or finds in the cache, or in TSVMM_DEBIAN_BZIMAGE) the bzImage
 * and extracts its vmlinux. Returns the bzImage's path, or an Error saying
 * what failed (one line).
 */
export function ensureDebianKernel() {
  let bz = process.env.TSVMM_DEBIAN_BZIMAGE;
  if (bz) {
    if (!existsSync(bz)) return new Error(`TSVMM_DEBIAN_BZIMAGE=${bz} does not exist`);
  } else {
    const r = spawnSync('bash', ['scripts/fetch-debian-kernel.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    bz = r.stdout.trim().split('\n').pop();
    if (r.status !== 0 || !bz || !existsSync(bz)) return new Error(`scripts/fetch-debian-kernel.sh failed (exit ${r.status})`);
  }
  const vmlinux = bz.replace(/vmlinuz-/, 'vmlinux-');
  if (vmlinux !== bz && !existsSync(vmlinux)) {
    const r = spawnSync(process.execPath, ['scripts/extract-vmlinux.mjs', bz, vmlinux], { encoding: 'utf8' });
    if (r.status !== 0) return new Error(`extracting ${vmlinux} failed: ${r.stderr.trim()}`);
  }
  return bz;
}
