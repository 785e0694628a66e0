// tsvmm on arm64, end to end, inside the emulated arm64 host
// (scripts/testhost-arm64, run by `npm run test:arm64`): Debian's arm64
// kernel (npm run guest -- --arch arm64) booted through bin/tsvmm on
// /dev/kvm, with the device tree, GICv3, PSCI, the MMIO 8250 and virtio-pci
// over ECAM. The runner shares the guest's cache folder (TSVMM_ARM64_GUEST)
// and a work folder in the repository (TSVMM_ARM64_WORK), and checks the disk
// image this file leaves there with debugfs and e2fsck on the x86 host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { bootWithConsole as boot, inOrder } from '../helpers/console_boot.js';
import { arm64Unavailable, bannerBoot, UART } from './banner.js';

const GUEST = process.env['TSVMM_ARM64_GUEST'];
const WORK = process.env['TSVMM_ARM64_WORK'];
const required = process.env['TSVMM_REQUIRE_KVM'] === '1';

const why = arm64Unavailable(GUEST, WORK);
// In the test host a missing piece is a failure, not a skip.
const skip = why !== undefined && !(required && process.arch === 'arm64') ? why : false;
if (skip) console.log(`# skipping: ${skip}`);

const image = (): string => join(GUEST!, 'Image');
const initramfs = (): string => join(GUEST!, 'initramfs.cpio');
const SHELL_DISK = (): string => join(WORK!, 'disk-shell.img');

const PROMPT = /tsvmm guest:[\s\S]*?tsvmm:\/# /;

/** The Seccomp: mode of every thread of the VMM process under supervisor `pid` (2: filtered). */
function vmmThreadsSeccomp(pid: number): string[] {
  const child = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  const dir = `/proc/${child}/task`;
  return readdirSync(dir).map((t) => /^Seccomp:\s+(\d+)/m.exec(readFileSync(`${dir}/${t}/status`, 'utf8'))?.[1] ?? '?');
}
const BLK = /virtio_blk virtio\d+: \[vda\] 131072 512-byte logical blocks/;

test('arm64 (1): Linux version banner from the device tree machine; no root, panic, PSCI reset ends the VMM with 0', { skip, timeout: 700_000 }, async () => {
  await bannerBoot(GUEST!, '3');
});

test('arm64 (2): busybox shell; the ext4 disk on /mnt is written through virtio-blk; poweroff through PSCI exits 0', { skip, timeout: 700_000 }, async () => {
  copyFileSync(join(GUEST!, 'disk.img'), SHELL_DISK());
  const typed = 'echo written-by-arm64-guest > /mnt/hello.txt; grep -c processor /proc/cpuinfo; sync; umount /mnt; poweroff -f\n';
  const r = await boot(['-k', image(), '-i', initramfs(), '-d', SHELL_DISK(), '-m', '256M', '--append', 'rdinit=/init'], [{ expect: PROMPT, then: typed }]);
  console.log(`# arm64 shell prompt after ${r.marks[0] ?? '-'} s; VMM exited after ${r.seconds} s`);
  assert.equal(r.code, 0, r.out.slice(-3000));
  // Debian's arm64 kernel has virtio-blk as a module: /init loads it, so the disk appears after "Run /init".
  inOrder(r.out, [UART, /Run \/init as init process/, BLK, /disk: \/dev\/vda \(ext4\) on \/mnt, read\/write/, /tsvmm:\/# /]);
  // The host side (debugfs, e2fsck) runs after the VM in scripts/run-arm64-tests.mjs.
});

test('arm64 (3): --seccomp: every VMM thread is filtered; a fresh boot reads back the file the last one wrote', { skip, timeout: 700_000 }, async () => {
  assert.ok(existsSync(SHELL_DISK()), 'test (2) left its disk');
  let threads: string[] = [];
  const r = await boot(
    ['-k', image(), '-i', initramfs(), '-d', SHELL_DISK(), '-m', '256M', '--append', 'rdinit=/init', '--seccomp'],
    [
      {
        expect: PROMPT,
        then: (pid, type) => {
          threads = vmmThreadsSeccomp(pid);
          type('cat /mnt/hello.txt; umount /mnt; poweroff -f\n');
        },
      },
    ],
  );
  console.log(`# arm64 --seccomp shell prompt after ${r.marks[0] ?? '-'} s; VMM exited after ${r.seconds} s; ${threads.length} VMM threads`);
  assert.equal(r.code, 0, r.out.slice(-3000));
  assert.ok(threads.length >= 3, `the VMM has its threads (main, vCPU, devices): ${threads.join(',')}`);
  assert.deepEqual(threads.filter((s) => s !== '2'), [], 'every thread in seccomp filter mode (2)');
  inOrder(r.out, [/seccomp/i, /tsvmm:\/# /, /written-by-arm64-guest/]);
});

test('arm64 (4): virtio-net on a TAP: the guest pings the emulated host', { skip, timeout: 700_000 }, async () => {
  const TAP = 'tsvmm0';
  const busyboxIp = (...a: string[]): void => {
    const r = spawnSync('busybox', ['ip', ...a], { encoding: 'utf8' });
    assert.equal(r.status, 0, `busybox ip ${a.join(' ')}: ${r.stderr}`);
  };
  const r = await boot(
    ['-k', image(), '-i', initramfs(), '-m', '256M', '--append', 'rdinit=/init', '--net', `tap:${TAP}`],
    [
      {
        // tsvmm made the TAP when it started; give the host side its address now.
        expect: PROMPT,
        then: (_pid, type) => {
          busyboxIp('addr', 'add', '10.0.2.1/24', 'dev', TAP);
          busyboxIp('link', 'set', TAP, 'up');
          type('ip addr add 10.0.2.15/24 dev eth0; ping -c 3 -W 10 10.0.2.1; poweroff -f\n');
        },
      },
    ],
  );
  console.log(`# arm64 net shell prompt after ${r.marks[0] ?? '-'} s; VMM exited after ${r.seconds} s`);
  assert.equal(r.code, 0, r.out.slice(-3000));
  inOrder(r.out, [/net: {2}eth0 up/, /tsvmm:\/# /, /3 packets transmitted, 3 packets received/]);
});

// --cpus 2: secondaries start powered off and the guest starts them with PSCI
// CPU_ON; four shell jobs write the disk in parallel (read back on the x86
// host by scripts/run-arm64-tests.mjs). Then the same with --seccomp: every
// thread of the VMM, both vCPU threads and the platform thread included, is
// filtered.
const SMP_DISK = (): string => join(WORK!, 'disk-smp.img');
const JOBS = [1, 2, 3, 4].map((i) => `(echo arm64-job-${i} > /mnt/job${i}.txt) &`).join(' ');

test('arm64 (5): --cpus 2: both CPUs come up, nproc prints 2, four parallel jobs write the ext4 disk', { skip, timeout: 900_000 }, async () => {
  copyFileSync(join(GUEST!, 'disk.img'), SMP_DISK());
  const r = await boot(['-k', image(), '-i', initramfs(), '-d', SMP_DISK(), '-m', '256M', '--cpus', '2', '--append', 'rdinit=/init'], [{ expect: PROMPT, then: `echo cpus=$(nproc); ${JOBS} wait; sync; umount /mnt; poweroff -f\n` }]);
  console.log(`# arm64 2 vCPUs: shell prompt after ${r.marks[0] ?? '-'} s; VMM exited after ${r.seconds} s`);
  assert.equal(r.code, 0, r.out.slice(-3000));
  inOrder(r.out, [/smp: Brought up 1 node, 2 CPUs/, UART, /tsvmm:\/# /, /cpus=2/]);
  assert.doesNotMatch(r.out, /did not stop/);
});

test('arm64 (6): --cpus 2 --seccomp: every VMM thread is filtered, both CPUs run', { skip, timeout: 900_000 }, async () => {
  let threads: string[] = [];
  const r = await boot(
    ['-k', image(), '-i', initramfs(), '-m', '256M', '--cpus', '2', '--append', 'rdinit=/init', '--seccomp'],
    [
      {
        expect: PROMPT,
        then: (pid, type) => {
          threads = vmmThreadsSeccomp(pid);
          type('echo cpus=$(nproc); poweroff -f\n');
        },
      },
    ],
  );
  console.log(`# arm64 2 vCPUs --seccomp: shell prompt after ${r.marks[0] ?? '-'} s; VMM exited after ${r.seconds} s; ${threads.length} VMM threads`);
  assert.equal(r.code, 0, r.out.slice(-3000));
  assert.ok(threads.length >= 4, `the VMM has its threads (main, 2 vCPUs, the platform): ${threads.join(',')}`);
  assert.deepEqual(threads.filter((s) => s !== '2'), [], 'every thread in seccomp filter mode (2)');
  // The seal (and its line) comes before the guest runs.
  inOrder(r.out, [/seccomp/i, /smp: Brought up 1 node, 2 CPUs/, /tsvmm:\/# /, /cpus=2/]);
});
