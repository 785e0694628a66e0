// The Debian kernel for the banner tests: its bzImage (fetched by
// scripts/fetch-debian-kernel.sh) and a vmlinux extracted from it by our own
// loader code, cached beside it.
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianBzImagePath } from '../../src/loader/images.fixture.js';
import { extractVmlinux } from '../../src/loader/extract_vmlinux.js';

/** Path of an extracted vmlinux, or undefined when no Debian kernel is cached. */
export async function debianVmlinux(): Promise<string | undefined> {
  const bz = debianBzImagePath();
  if (bz === undefined) return undefined;
  const out = bz.replace(/vmlinuz-/, 'vmlinux-');
  if (!existsSync(out)) writeFileSync(out, await extractVmlinux(readFileSync(bz)));
  return out;
}

/** A tiny valid newc initrd holding one file (made with the system's cpio). */
export function tinyInitrd(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-initrd-'));
  writeFileSync(join(dir, 'hello'), 'tsvmm\n');
  const cpio = execFileSync('cpio', ['-o', '-H', 'newc', '--quiet'], { cwd: dir, input: 'hello\n' });
  const path = join(dir, 'initrd.cpio');
  writeFileSync(path, cpio);
  return path;
}
