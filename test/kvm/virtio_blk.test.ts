// virtio-blk end to end: the blk test guest (test/guests/blk.c) drives the
// device as a driver would, for both ring layouts and all three completion
// modes; afterwards the image file on the host must differ from what it was
// in exactly the sectors the guest wrote, with exactly the guest's bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTsvmm, kvmUnavailable } from '../helpers/tsvmm.js';
import { guestDir } from '../helpers/guests.js';

const skip = kvmUnavailable() ?? false;
const SECTOR = 512;
const SECTORS = 64;
const dir = mkdtempSync(join(tmpdir(), 'tsvmm-blk-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** What blk.c writes: sectors 1-4 a counting pattern, 10 all 0xA5, 12 all 0x5A. */
function expectedAfter(before: Buffer, indirect: boolean): Buffer {
  const after = Buffer.from(before);
  for (let i = 0; i < 4 * SECTOR; i++) after[SECTOR + i] = ((1 + Math.floor(i / SECTOR)) * 7 + i) & 0xff;
  after.fill(0xa5, 10 * SECTOR, 11 * SECTOR);
  if (indirect) after.fill(0x5a, 12 * SECTOR, 13 * SECTOR);
  return after;
}

for (const ring of ['split', 'packed']) {
  for (const irq of ['poll', 'msix', 'intx']) {
    test(`blk guest, ${ring} ring, ${irq} completions: writes, flush, reads, bounds, id`, { skip }, async () => {
      const image = join(dir, `${ring}-${irq}.img`);
      const before = Buffer.alloc(SECTORS * SECTOR);
      for (let i = 0; i < before.length; i++) before[i] = (i * 31 + 3) & 0xff;
      writeFileSync(image, before);
      const r = await runTsvmm(['-k', `${guestDir()}/blk.elf`, '-m', '64M', '-d', image, '--append', `blk.ring=${ring} blk.irq=${irq}`], { timeoutMs: 120000 });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /FAIL:/, r.stdout);
      assert.match(r.stdout, /BLK OK/, r.stdout);
      assert.match(r.stdout, new RegExp(`blk: capacity=${SECTORS}\\b`));
      assert.match(r.stdout, /blk: read past end -> IOERR/);
      assert.match(r.stdout, /blk: flush ok/);
      assert.match(r.stdout, /blk: id=[0-9a-f]{20}/);
      const interrupts = Number(/blk: interrupts=(\d+)/.exec(r.stdout)?.[1]);
      if (irq === 'poll') assert.equal(interrupts, 0);
      else assert.ok(interrupts > 0, `${irq}: completions raised interrupts`);
      const after = readFileSync(image);
      assert.equal(after.length, before.length, 'image size unchanged');
      const indirect = /wrote sector 12 \(indirect\)/.test(r.stdout);
      const want = expectedAfter(before, indirect);
      for (let s = 0; s < SECTORS; s++) {
        assert.ok(after.subarray(s * SECTOR, (s + 1) * SECTOR).equals(want.subarray(s * SECTOR, (s + 1) * SECTOR)), `sector ${s} differs from what the guest wrote`);
      }
    });
  }
}

test('a read-only disk (,ro) rejects writes with IOERR and is not modified', { skip }, async () => {
  const image = join(dir, 'ro.img');
  const before = Buffer.alloc(SECTORS * SECTOR, 0x11);
  writeFileSync(image, before);
  const r = await runTsvmm(['-k', `${guestDir()}/blk.elf`, '-m', '64M', '-d', `${image},ro`], { timeoutMs: 120000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /FAIL:/, 'the guest sees its writes fail');
  assert.ok(readFileSync(image).equals(before), 'the image is untouched');
});
