// scripts/set-host-bridge.sh and set-guest-route.sh, run for real inside a
// throwaway network namespace (root and `ip netns` only; skipped otherwise),
// so the host's own interfaces and routes are never touched.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPTS = fileURLToPath(new URL('../../../scripts/', import.meta.url));

/** Runs `bash -c script` in a fresh namespace; null (test skipped) when namespaces are unavailable. */
function inNetns(t: TestContext, script: string): string | null {
  if (process.getuid?.() !== 0) {
    t.skip('needs root for ip netns');
    return null;
  }
  const ns = `tsvmm-test-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  if (add.status !== 0) {
    t.skip(`ip netns unavailable: ${add.error?.message ?? add.stderr.trim()}`);
    return null;
  }
  try {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'bash', '-c', `set -u; S=${SCRIPTS}; ${script}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, `namespace script failed: ${r.stderr}`);
    return r.stdout + r.stderr;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

test('set-host-bridge.sh: bridge with 10.0.0.1/24, idempotent, refuses non-bridges, default route untouched', (t) => {
  const out = inNetns(
    t,
    `ip tuntap add dev tsvtap0 mode tap; ip tuntap add dev other mode tap; ip tuntap add dev uplink mode tap
     ip link set uplink up; ip route add default dev uplink
     echo "default-before: $(ip route show default)"
     bash $S/set-host-bridge.sh tsvtap0 other; echo "rc-nonbridge=$?"
     echo "links: $(ls /sys/class/net | tr '\\n' ' ')"
     bash $S/set-host-bridge.sh tsvtap0 >/dev/null; echo "rc1=$?"
     bash $S/set-host-bridge.sh tsvtap0 >/dev/null; echo "rc2=$?"
     echo "addrs: $(ip -o -4 addr show dev tsvmmbr0 | awk '{print $4}' | tr '\\n' ' ')"
     echo "master: $(basename $(readlink /sys/class/net/tsvtap0/master))"
     echo "default-after: $(ip route show default)"
     bash $S/set-host-bridge.sh uplink >/dev/null 2>&1; echo "rc-uplink=$?"
     bash $S/set-host-bridge.sh missing0 2>/dev/null; echo "rc-missing=$?"`,
  );
  if (out === null) return;
  assert.match(out, /'other' exists and is not a bridge; refusing/);
  assert.match(out, /rc-nonbridge=1/);
  assert.match(out, /links: lo other tsvtap0 uplink $/m, 'nothing was created by the refused run');
  assert.match(out, /rc1=0/);
  assert.match(out, /rc2=0/);
  assert.match(out, /addrs: 10\.0\.0\.1\/24 $/m, 'one address, added once');
  assert.match(out, /master: tsvmmbr0/);
  const before = /default-before: (.*)/.exec(out)?.[1];
  assert.ok(before !== undefined && before.includes('dev uplink'));
  assert.match(out, new RegExp(`default-after: ${before.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  assert.match(out, /rc-uplink=0/, 'a second TAP joins the same bridge');
  assert.match(out, /rc-missing=1/);
});

test('set-guest-route.sh: address set idempotently, no default route, missing interface refused', (t) => {
  const out = inNetns(
    t,
    `ip tuntap add dev eth0 mode tap
     bash $S/set-guest-route.sh >/dev/null; echo "rc1=$?"
     bash $S/set-guest-route.sh >/dev/null; echo "rc2=$?"
     echo "addrs: $(ip -o -4 addr show dev eth0 | awk '{print $4}' | tr '\\n' ' ')"
     echo "default: [$(ip route show default)]"
     bash $S/set-guest-route.sh eth9 2>&1; echo "rc-missing=$?"`,
  );
  if (out === null) return;
  assert.match(out, /rc1=0/);
  assert.match(out, /rc2=0/);
  assert.match(out, /addrs: 10\.0\.0\.2\/24 $/m);
  assert.match(out, /default: \[\]/);
  assert.match(out, /no interface 'eth9'/);
  assert.match(out, /rc-missing=1/);
});
