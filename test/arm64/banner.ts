// The arm64 banner boot, shared by boot.test.ts (on a GICv3 host) and
// gic_fallback.test.ts (on a GICv2 host, which scripts/run-arm64-tests.mjs
// boots separately): Debian's arm64 Image without a root file system prints
// its banner, finds the device tree's machine, PSCI, the GIC, the timer and
// the MMIO 8250, panics, and panic=1 resets it through PSCI: exit code 0.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bootWithConsole, inOrder } from '../helpers/console_boot.js';

export const UART = /ttyS0 at MMIO 0x9000000 \(irq = \d+, base_baud = \d+\) is a 16550A/;

/** Why the arm64 tests cannot run here, or undefined. */
export function arm64Unavailable(guest: string | undefined, work: string | undefined): string | undefined {
  if (process.arch !== 'arm64') return `not on arm64 (process.arch is ${process.arch}); npm run test:arm64 runs this in the arm64 test host`;
  if (guest === undefined || work === undefined) return 'TSVMM_ARM64_GUEST / TSVMM_ARM64_WORK are not set (scripts/run-arm64-tests.mjs sets them)';
  if (!existsSync('/dev/kvm')) return '/dev/kvm does not exist';
  return undefined;
}

/** Boots the banner and checks it; `hostGic` is the emulated host's GIC version, which decides the vGIC tsvmm can get. */
export async function bannerBoot(guest: string, hostGic: '2' | '3'): Promise<void> {
  const r = await bootWithConsole(['-k', join(guest, 'Image'), '-m', '256M'], [{ expect: /Linux version \S+/ }, { expect: /Kernel panic/ }]);
  console.log(`# arm64 (GICv${hostGic} host) banner after ${r.marks[0] ?? '-'} s; panic after ${r.marks[1] ?? '-'} s; VMM exited after ${r.seconds} s`);
  assert.equal(r.code, 0, r.out.slice(-3000));
  // GICv3's driver names itself; GICv2's prints only its IRQ handler.
  const gic = hostGic === '2' ? /NR_IRQS: \d+[\s\S]*Root IRQ handler: gic_handle_irq/ : /GICv3: \d+ SPIs implemented/;
  inOrder(r.out, [/Linux version \S+-arm64/, /Machine model: tsvmm/, /psci: PSCIv\d\.\d detected/, gic, /arch_timer: cp15 timer/, UART, /Kernel panic/]);
  if (hostGic === '2') assert.doesNotMatch(r.out, /GICv3:/, 'a GICv2 host gets a GICv2 guest');
}
