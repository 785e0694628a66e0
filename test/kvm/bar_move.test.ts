// A guest that moves a PCI BAR onto another device's BAR (and onto the local
// APIC and RAM) must not bring the VMM down: the overlapping BAR is simply not
// decoded, and once moved back both devices work (test/guests/barmove.c).
// Run on a terminal, where the console and tsvmm's lines share one file: the
// line about the overlap comes while the guest holds a console line open,
// and must start on a line of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvmUnavailable } from '../helpers/tsvmm.js';
import { guestDir } from '../helpers/guests.js';
import { runOnPty } from '../helpers/pty.js';

const skip = kvmUnavailable() ?? false;
const SECTOR = 512;

test('barmove: a BAR moved onto another device, the LAPIC and RAM is not decoded; the VMM survives, both disks work after it moves back, and its lines start on lines of their own', { skip, timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bar-'));
  try {
    const [a, b] = [join(dir, 'a.img'), join(dir, 'b.img')];
    writeFileSync(a, Buffer.alloc(8 * SECTOR));
    writeFileSync(b, Buffer.alloc(8 * SECTOR));
    const r = await runOnPty(['-k', `${guestDir()}/barmove.elf`, '-m', '64M', '-d', a, '-d', b], { expect: 'BARMOVE OK', timeoutSec: 180, exitTimeoutSec: 60 });
    const out = r.output;
    assert.equal(r.matched, true, out);
    assert.equal(r.code, 0, out);
    assert.doesNotMatch(out, /FAIL:|thread failed/, out);
    assert.match(out, /B still answers/);
    assert.match(out, /tsvmm: PCI slot 1 BAR 0 at 0xc0010000-0xc0017fff overlaps PCI slot 2 BAR 0 on the MMIO bus/);
    assert.match(out, /overlaps the local APIC/);
    assert.match(out, /overlaps guest RAM/);
    // Every tsvmm line starts a line: nothing of the guest's before it on its line.
    const lines = out.split('\n').map((l) => l.replace(/\r/g, ''));
    const ours = lines.filter((l) => l.includes('tsvmm: '));
    assert.ok(ours.length >= 3, out);
    for (const l of ours) assert.ok(l.startsWith('tsvmm: '), `a tsvmm line in the middle of a console line: ${JSON.stringify(l)}`);
    assert.equal(r.restored, true, 'terminal settings restored');
    for (const [image, tag] of [[a, 0xa0], [b, 0xb0]] as const) {
      const bytes = readFileSync(image);
      for (const s of [1, 2]) assert.ok(bytes.subarray(s * SECTOR, (s + 1) * SECTOR).every((x) => x === tag + s), `${image} sector ${s}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
