// The main job, end to end: tsvmm boots the project's own guest (npm run
// guest: kernel from Debian's linux-source, busybox initramfs, ext4 disk) to a
// shell, a user types into the console, and the disk written through
// virtio-blk is checked on the host afterwards. Slow (a real kernel boot):
// run by `npm run test:boot`, not `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fullGuestUnavailable, kvmUnavailable } from '../helpers/tsvmm.js';
import { bootWithConsole, inOrder } from '../helpers/console_boot.js';

interface Guest {
  bzImage: string;
  initramfs: string;
  disk: string;
}

/** The newest custom guest built by scripts/build-guest.mjs (or TSVMM_GUEST_DIR). */
function findGuest(): Guest | undefined {
  const root = join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'tsvmm', 'guest');
  const dirs = process.env['TSVMM_GUEST_DIR'] ? [process.env['TSVMM_GUEST_DIR']] : existsSync(root) ? readdirSync(root).map((d) => join(root, d)) : [];
  let best: { at: string; g: Guest } | undefined;
  for (const dir of dirs) {
    const m = join(dir, 'manifest.json');
    if (!existsSync(m)) continue;
    const man = JSON.parse(readFileSync(m, 'utf8')) as { variant: string; builtAt: string; artefacts: Record<string, string> };
    if (man.variant !== 'custom') continue;
    const a = man.artefacts;
    const g = { bzImage: join(dir, a['bzImage']!), initramfs: join(dir, a['initramfs']!), disk: join(dir, a['disk']!) };
    if (best === undefined || man.builtAt > best.at) best = { at: man.builtAt, g };
  }
  return best?.g;
}

const guest = findGuest();
const skip = kvmUnavailable() ?? fullGuestUnavailable() ?? (guest === undefined ? 'the default guest is not built: run npm run guest' : false);

const PROBES = [/ttyS0 at I\/O 0x3f8 \(irq = 4[^)]*\) is a 16550A/, /virtio_blk virtio\d+: \[vda\] 131072 512-byte logical blocks/];
const dumpe2fs = (img: string): string => execFileSync('dumpe2fs', ['-h', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

// The second run adds --seccomp and a network card on a TAP in a network
// namespace of its own (never the host's interfaces): the guest pings the host.
const NS = `tsvmmboot${process.pid}`;
const TAP = 'tsvmmb0';
// CONFIG_IP_PNP configures eth0 from `ip=` before the root is mounted and
// prints this: the card probed and came up.
const NET_ROOT_APPEND = 'ip=10.0.1.2::10.0.1.1:255.255.255.0::eth0:off';
const NET_PROBE = /IP-Config: Complete:\s+device=eth0, hwaddr=[0-9a-f:]{17}, ipaddr=10\.0\.1\.2/;
const NET_TYPED = 'ip addr add 10.0.1.2/24 dev eth0; ping -c 3 -W 10 10.0.1.1; ';
function netSetUp(): void {
  spawnSync('ip', ['netns', 'del', NS]);
  execFileSync('ip', ['netns', 'add', NS]);
  for (const a of [['link', 'set', 'lo', 'up'], ['tuntap', 'add', 'dev', TAP, 'mode', 'tap'], ['addr', 'add', '10.0.1.1/24', 'dev', TAP], ['link', 'set', TAP, 'up']]) {
    execFileSync('ip', ['netns', 'exec', NS, 'ip', ...a]);
  }
}

for (const net of [false, true]) {
  const extra = net ? ['--seccomp', '--net', `tap:${TAP}`] : [];
  test(`boots to a shell with the ext4 disk on /mnt; typed commands write the disk${net ? ' (--seccomp; virtio-net pings the host)' : ''}`, { skip, timeout: 900_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-boot-'));
    if (net) netSetUp();
    try {
      const disk = join(dir, 'disk.img');
      copyFileSync(guest!.disk, disk);
      const r = await bootWithConsole(
        ['-k', guest!.bzImage, '-i', guest!.initramfs, '-d', disk, '-m', '256M', '--append', 'rdinit=/init', ...extra],
        [{ expect: /tsvmm guest:[\s\S]*?tsvmm:\/# /, then: `${net ? NET_TYPED : ''}echo written-by-guest > /mnt/hello.txt; grep -c processor /proc/cpuinfo; sync; umount /mnt; reboot -f\n` }],
        net ? { netns: NS } : {},
      );
      console.log(`# shell prompt after ${r.marks[0] ?? '-'} s, VMM exited after ${r.seconds} s`);
      assert.equal(r.code, 0, r.out.slice(-3000));
      const expected = [...PROBES, /Run \/init as init process/, /disk: \/dev\/vda \(ext4\) on \/mnt, read\/write/];
      if (net) expected.push(/net: {2}eth0 up/, /tsvmm:\/# /, /3 packets transmitted, 3 packets received/);
      else expected.push(/net: {2}no network card/, /tsvmm:\/# /);
      inOrder(r.out, expected);
      assert.equal(execFileSync('debugfs', ['-R', 'cat /hello.txt', disk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), 'written-by-guest\n');
      assert.equal(spawnSync('e2fsck', ['-fn', disk]).status, 0, 'e2fsck -fn finds the cleanly unmounted file system clean');
      assert.match(dumpe2fs(disk), /Mount count:\s+[1-9]/);
    } finally {
      if (net) spawnSync('ip', ['netns', 'del', NS]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

for (const net of [false, true]) {
test(`root=/dev/vda rw without an initramfs mounts the ext4 root through virtio-blk${net ? ' (--seccomp, --net)' : ''}`, { skip, timeout: 900_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-boot-'));
  if (net) netSetUp();
  try {
    const disk = join(dir, 'disk.img');
    copyFileSync(guest!.disk, disk);
    const before = dumpe2fs(disk);
    // The disk holds no /sbin/init: the kernel mounts it, finds no init,
    // panics, and panic=1 reboots the guest, which ends the VMM with 0.
    const extra = net ? ['--seccomp', '--net', `tap:${TAP}`] : [];
    const r = await bootWithConsole(['-k', guest!.bzImage, '-d', disk, '-m', '256M', '--append', `root=/dev/vda rw${net ? ` ${NET_ROOT_APPEND}` : ''}`, ...extra], [], net ? { netns: NS } : {});
    console.log(`# VMM exited after ${r.seconds} s`);
    assert.equal(r.code, 0, r.out.slice(-3000));
    inOrder(r.out, [...PROBES, ...(net ? [NET_PROBE] : []), /VFS: Mounted root \(ext4 filesystem\)/]);
    const after = dumpe2fs(disk);
    assert.notEqual(/Last mount time:.*/.exec(after)?.[0], /Last mount time:.*/.exec(before)?.[0], 'the guest recorded its mount in the superblock');
    const fsck = spawnSync('e2fsck', ['-fn', disk], { encoding: 'utf8' });
    // Mounted and never unmounted: only what a journal replay settles may differ.
    const complaints = fsck.stdout.split('\n').filter((l) => /wrong|Fix\?|error/i.test(l) && !/Free (blocks|inodes) count wrong|Fix\? no/.test(l));
    assert.deepEqual(complaints, [], fsck.stdout);
  } finally {
    if (net) spawnSync('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  }
});
}

// --cpus 4: the kernel starts the application processors (INIT/SIPI through
// the in-kernel LAPIC, from the MP table), the shell sees 4 CPUs, and four
// jobs run in parallel, each writing a file on the ext4 disk.
const JOBS = [1, 2, 3, 4];
test('--cpus 4: "Brought up 1 node, 4 CPUs", nproc prints 4, four parallel shell jobs each write a file the host reads back', { skip, timeout: 900_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-boot-smp-'));
  try {
    const disk = join(dir, 'disk.img');
    copyFileSync(guest!.disk, disk);
    const jobs = JOBS.map((i) => `(echo job-${i}-of-4 > /mnt/job${i}.txt) &`).join(' ');
    const r = await bootWithConsole(
      ['-k', guest!.bzImage, '-i', guest!.initramfs, '-d', disk, '-m', '256M', '--cpus', '4', '--append', 'rdinit=/init'],
      [{ expect: /tsvmm guest:[\s\S]*?tsvmm:\/# /, then: `echo cpus=$(nproc); ${jobs} wait; sync; umount /mnt; reboot -f\n` }],
    );
    console.log(`# 4 vCPUs: shell prompt after ${r.marks[0] ?? '-'} s, VMM exited after ${r.seconds} s`);
    assert.equal(r.code, 0, r.out.slice(-3000));
    inOrder(r.out, [/smp: Brought up 1 node, 4 CPUs/, ...PROBES, /tsvmm:\/# /, /cpus=4/]);
    assert.doesNotMatch(r.out, /did not stop/);
    for (const i of JOBS) {
      assert.equal(execFileSync('debugfs', ['-R', `cat /job${i}.txt`, disk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), `job-${i}-of-4\n`);
    }
    assert.equal(spawnSync('e2fsck', ['-fn', disk]).status, 0, 'e2fsck -fn finds the cleanly unmounted file system clean');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The Firecracker API, as its tools drive it (curl --unix-socket): the whole
// sequence boots the default guest, whose shell writes its disk.
test('--api-sock: curl sends machine-config, boot-source, drives, network-interfaces and InstanceStart; the default guest boots to its shell and writes its disk', { skip, timeout: 900_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-boot-api-'));
  netSetUp();
  try {
    const disk = join(dir, 'disk.img');
    copyFileSync(guest!.disk, disk);
    const sock = join(dir, 'api.sock');
    const curl = (method: string, path: string, body: unknown): string =>
      execFileSync('curl', ['-s', '--unix-socket', sock, '-X', method, '-H', 'Content-Type: application/json', '-d', JSON.stringify(body), '-w', '%{http_code}', `http://localhost${path}`], { encoding: 'utf8' });
    const sequence: Array<[string, string, unknown]> = [
      ['PUT', '/machine-config', { vcpu_count: 2, mem_size_mib: 256 }],
      ['PUT', '/boot-source', { kernel_image_path: guest!.bzImage, initrd_path: guest!.initramfs, boot_args: 'console=ttyS0 reboot=k panic=1 pci=off rdinit=/init' }],
      ['PUT', '/drives/data', { drive_id: 'data', path_on_host: disk, is_root_device: false, is_read_only: false }],
      ['PUT', '/network-interfaces/eth0', { iface_id: 'eth0', host_dev_name: TAP, guest_mac: '06:00:ac:10:00:02' }],
      ['PUT', '/actions', { action_type: 'InstanceStart' }],
    ];
    // The API process prints nothing before InstanceStart: drive the API as soon as its socket exists.
    const drive = (async (): Promise<string[]> => {
      const deadline = Date.now() + 120_000;
      while (!existsSync(sock)) {
        if (Date.now() > deadline) return ['no API socket within 120 s'];
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return sequence.map(([m, p, b]) => `${m} ${p} ${curl(m, p, b)}`);
    })();
    const r = await bootWithConsole(
      ['--api-sock', sock],
      [{ expect: /tsvmm guest:[\s\S]*?tsvmm:\/# /, then: `echo cpus=$(nproc); ${NET_TYPED}echo written-through-the-api > /mnt/api.txt; sync; umount /mnt; reboot -f\n` }],
      { netns: NS },
    );
    const answers = await drive;
    console.log(`# API boot: shell prompt after ${r.marks[0] ?? '-'} s, VMM exited after ${r.seconds} s`);
    assert.deepEqual(answers, sequence.map(([m, p]) => `${m} ${p} 204`), r.out.slice(-2000));
    assert.equal(r.code, 0, r.out.slice(-3000));
    inOrder(r.out, [/Command line: .*rdinit=\/init/, /smp: Brought up 1 node, 2 CPUs/, ...PROBES, /net: {2}eth0 up/, /tsvmm:\/# /, /cpus=2/, /3 packets transmitted, 3 packets received/]);
    assert.doesNotMatch(r.out, /Command line: .*pci=off/, 'pci=off (virtio-mmio habit) is dropped: our devices are on PCI');
    assert.equal(execFileSync('debugfs', ['-R', 'cat /api.txt', disk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), 'written-through-the-api\n');
    assert.equal(spawnSync('e2fsck', ['-fn', disk]).status, 0);
    assert.equal(existsSync(sock), false, 'the socket is gone when tsvmm ends');
  } finally {
    spawnSync('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  }
});
