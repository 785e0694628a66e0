// virtio-net end to end, in a network namespace made by the test (never the
// host's real interfaces): the net test guest (test/guests/net.c) resolves
// the host side by ARP, pings it (every reply checked), and sends a UDP
// datagram that a host-side listener echoes back. Run for both ring layouts,
// and once with --seccomp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { kvmUnavailable, TSVMM } from '../helpers/tsvmm.js';
import { guestDir } from '../helpers/guests.js';

const NS = `tsvmmtest${process.pid}`;
const TAP = 'tsvmm0';
const HOST_IP = '10.0.0.1';
const GUEST_IP = '10.0.0.2';
const UDP_PORT = 7777;

function netUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces and TAP devices need root';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun does not exist';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is not installed';
  return undefined;
}

const skip = kvmUnavailable() ?? netUnavailable() ?? false;
const ip = (...args: string[]): string => execFileSync('ip', ['netns', 'exec', NS, 'ip', ...args], { encoding: 'utf8' });

function setUp(): void {
  spawnSync('ip', ['netns', 'del', NS]);
  execFileSync('ip', ['netns', 'add', NS]);
  ip('link', 'set', 'lo', 'up');
  // A persistent TAP with the host address; tsvmm attaches to it by name.
  ip('tuntap', 'add', 'dev', TAP, 'mode', 'tap');
  ip('addr', 'add', `${HOST_IP}/24`, 'dev', TAP);
  ip('link', 'set', TAP, 'up');
}

function tearDown(): void {
  spawnSync('ip', ['netns', 'del', NS]);
}

/** Runs tsvmm inside the namespace with a UDP echo listener beside it. */
function runGuest(extra: string[], append: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const echo = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', `
    const s = require('node:dgram').createSocket('udp4');
    s.on('message', (m, r) => s.send(m, r.port, r.address));
    s.bind(${UDP_PORT}, '${HOST_IP}', () => console.log('listening'));`], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    echo.stdout.once('data', () => {
      const vm = spawn('ip', ['netns', 'exec', NS, process.execPath, TSVMM, '-k', `${guestDir()}/net.elf`, '-m', '64M', '--net', `tap:${TAP}`, '--append', `net.ip=${GUEST_IP} net.peer=${HOST_IP} ${append}`, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      vm.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      vm.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => vm.kill('SIGKILL'), 540_000);
      vm.on('error', reject);
      vm.on('close', (code) => {
        clearTimeout(timer);
        echo.kill();
        resolve({ code, stdout, stderr });
      });
    });
  });
}

for (const [ring, count, extra] of [
  ['split', 10000, []],
  ['packed', 1000, []],
  ['split', 200, ['--seccomp']],
] as Array<[string, number, string[]]>) {
  test(`net guest, ${ring} ring${extra.length ? ' with --seccomp' : ''}: ARP, ${count} pings, UDP echo through a TAP`, { skip, timeout: 600_000 }, async () => {
    setUp();
    try {
      const r = await runGuest(extra, `net.ring=${ring} net.count=${count}`);
      assert.equal(r.code, 0, `${r.stderr}\n${r.stdout.slice(-2000)}`);
      assert.match(r.stderr, new RegExp(`net: TAP ${TAP}, guest MAC `));
      assert.doesNotMatch(r.stdout, /FAIL:/, r.stdout.slice(-2000));
      assert.doesNotMatch(r.stderr, /unusable|dropped/, 'no ring errors or drops after the guest reset the device');
      assert.match(r.stdout, /net: arp reply from [0-9a-f:]{17}/);
      assert.match(r.stdout, new RegExp(`net: ping ${count}/${count} ok`));
      assert.match(r.stdout, /net: udp echo ok/);
      assert.match(r.stdout, /NET OK/);
    } finally {
      tearDown();
    }
  });
}
