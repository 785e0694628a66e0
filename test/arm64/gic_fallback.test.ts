// Run by scripts/run-arm64-tests.mjs on its own, in an arm64 host booted
// with a GICv2 (TESTHOST_GIC=2): that host's KVM offers no vGICv3, so tsvmm
// must fall back to a vGICv2 and the guest must still boot (see banner.ts).
import { test } from 'node:test';
import { arm64Unavailable, bannerBoot } from './banner.js';

const GUEST = process.env['TSVMM_ARM64_GUEST'];
const why = arm64Unavailable(GUEST, process.env['TSVMM_ARM64_WORK']) ?? (process.env['TSVMM_ARM64_HOST_GIC'] !== '2' ? 'runs only on the GICv2 arm64 host (TSVMM_ARM64_HOST_GIC=2)' : undefined);
const skip = why !== undefined && !(process.env['TSVMM_REQUIRE_KVM'] === '1' && process.arch === 'arm64') ? why : false;
if (skip) console.log(`# skipping: ${skip}`);

test('arm64 on a GICv2 host: tsvmm falls back to a vGICv2; banner, panic, PSCI reset, exit 0', { skip, timeout: 700_000 }, async () => {
  await bannerBoot(GUEST!, '2');
});
