// The guest's disk: a DISK_SIZE ext4 image with a README, made by
// mkfs.ext4 -d from a staging folder (no loop mount, no root needed).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../exec.js';
import type { Progress } from '../progress.js';
import { DISK_README, DISK_SIZE } from './inputs.js';

/** The mkfs.ext4 arguments that make `image` from the files in `staging`. */
function mkfsArgs(staging: string, image: string, size: string = DISK_SIZE): string[] {
  return ['-F', '-q', '-L', 'tsvmm', '-E', 'root_owner=0:0', '-d', staging, image, size];
}

/** Writes the disk image to `image`, staging its files in `scratch`/disk. */
export function makeDisk(image: string, scratch: string, progress: Progress): void {
  progress.stage(`making the disk: ${DISK_SIZE} ext4 with a README (mkfs.ext4 -d)`);
  const staging = join(scratch, 'disk');
  mkdirSync(staging);
  writeFileSync(join(staging, 'README'), DISK_README);
  run('mkfs.ext4', mkfsArgs(staging, image));
}
