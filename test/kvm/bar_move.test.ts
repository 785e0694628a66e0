// A guest that moves a PCI BAR onto another device's BAR (and onto the local
// APIC and RAM) must not bring the VMM down: the overlapping BAR is simply not
// decoded, and once moved back both devices work (test/guests/barmove.c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvmUnavailable, runTsvmm } from '../helpers/tsvmm.js';
import { guestDir } from '../helpers/guests.js';

const skip = kvmUnavailable() ?? false;
const SECTOR = 512;

test('barmove: a BAR moved onto another device, the LAPIC and RAM is not decoded; the VMM survives and both disks work after it moves back', { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bar-'));
  try {
    const [a, b] = [join(dir, 'a.img'), join(dir, 'b.img')];
    writeFileSync(a, Buffer.alloc(8 * SECTOR));
    writeFileSync(b, Buffer.alloc(8 * SECTOR));
    const r = await runTsvmm(['-k', `${guestDir()}/barmove.elf`, '-m', '64M', '-d', a, '-d', b], { timeoutMs: 150_000 });
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
    assert.doesNotMatch(r.stdout, /FAIL:/, r.stdout);
    assert.match(r.stdout, /A moved onto B: B still answers/);
    assert.match(r.stdout, /BARMOVE OK/);
    assert.doesNotMatch(r.stderr, /thread failed/);
    assert.match(r.stderr, /PCI slot 1 BAR 0 at 0xc0010000-0xc0017fff overlaps PCI slot 2 BAR 0 on the MMIO bus/);
    assert.match(r.stderr, /overlaps the local APIC/);
    assert.match(r.stderr, /overlaps guest RAM/);
    for (const [image, tag] of [[a, 0xa0], [b, 0xb0]] as const) {
      const bytes = readFileSync(image);
      for (const s of [1, 2]) assert.ok(bytes.subarray(s * SECTOR, (s + 1) * SECTOR).every((x) => x === tag + s), `${image} sector ${s}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
