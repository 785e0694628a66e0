import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Progress } from '../progress.js';
import { makeDisk } from './disk.js';
import { DISK_README } from './inputs.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;

test('makeDisk: a 64 MiB ext4 image labelled tsvmm with the README in its root', (t) => {
  if (!has('mkfs.ext4') || !has('debugfs')) return t.skip('needs mkfs.ext4 and debugfs (e2fsprogs)');
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-disk-'));
  try {
    const image = join(dir, 'disk.img');
    const stages: string[] = [];
    makeDisk(image, dir, new Progress({ write: (s: string) => stages.push(s) }));
    assert.equal(statSync(image).size, 64 << 20);
    assert.match(stages.join(''), /making the disk: 64M ext4/);
    const cat = spawnSync('debugfs', ['-R', 'cat /README', image], { encoding: 'utf8' });
    assert.equal(cat.stdout, DISK_README);
    const label = spawnSync('debugfs', ['-R', 'stats', image], { encoding: 'utf8' });
    assert.match(label.stdout, /Filesystem volume name:\s+tsvmm/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
