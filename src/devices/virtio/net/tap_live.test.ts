// End to end over a real TAP in a throwaway network namespace (root only;
// skipped otherwise): the "guest" side (driver mock rings) sends an ARP
// request for the TAP's address through NetTx, and the host kernel's ARP
// reply comes back through NetRx into guest buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const HERE = new URL('.', import.meta.url).href;

// Runs in the namespace: everything a worker would do, with the mock rings as the guest.
const CHILD = `
import { execFileSync } from 'node:child_process';
import { GuestMemory } from '${HERE}../../../memory/guest_memory.js';
import { native } from '${HERE}../../../native/addon.js';
import { createSharedState } from '${HERE}../shared_state.js';
import { VIRTIO_F, featureBit } from '${HERE}../constants.js';
import { VIRTIO_NET_F } from '${HERE}constants.js';
import { configureTap, openTap } from '${HERE}tap.js';
import { FdPacketIo } from '${HERE}packet_io.js';
import { NetQueueHandler } from '${HERE}queue_handler.js';
import { RAM, TestRing, withHeader } from '${HERE}net.fixture.js';

const tap = openTap('tsvt0');
const features = [VIRTIO_F.VERSION_1, VIRTIO_NET_F.MRG_RXBUF, VIRTIO_NET_F.CSUM, VIRTIO_NET_F.GUEST_CSUM].reduce((a, b) => a | featureBit(b), 0n);
configureTap(tap.fd, features);
execFileSync('ip', ['addr', 'add', '10.0.0.1/24', 'dev', tap.name]);
execFileSync('ip', ['link', 'set', tap.name, 'up']);
const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(RAM) }]);
const rx = new TestRing('packed', 16, { mem, base: 0x1000, dataBase: 0x10_0000, dataEnd: 0x18_0000 });
const tx = new TestRing('split', 16, { mem, base: 0x9000, dataBase: 0x18_0000, dataEnd: 0x40_0000 });
const irq = [];
const handler = new NetQueueHandler(mem, rx.queue, tx.queue, new FdPacketIo(tap.fd), features, createSharedState(2, false), { queue: (v) => irq.push(v), config: () => irq.push('config') }, (l) => console.error(l));
for (let i = 0; i < 8; i++) rx.addRx([2048]);
const mac = [2, 0, 0, 0, 0, 2];
const arp = new Uint8Array([
  255, 255, 255, 255, 255, 255, ...mac, 0x08, 0x06,
  0, 1, 0x08, 0x00, 6, 4, 0, 1, ...mac, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1,
]);
tx.addTx([withHeader(arp).subarray(0, 12), withHeader(arp).subarray(12)]);
const sent = handler.processTx();
const pfd = Buffer.alloc(8);
let reply = null;
const deadline = Date.now() + 3000;
while (reply === null && Date.now() < deadline) {
  pfd.writeInt32LE(handler.tapEvents() === 0 ? -1 : tap.fd, 0);
  pfd.writeInt16LE(handler.tapEvents(), 4);
  native.poll(pfd, 100);
  handler.processRx();
  for (const f of rx.frames(rx.takeUsed())) {
    if (f[12 + 12] === 0x08 && f[12 + 13] === 0x06 && f[12 + 21] === 2) reply = f;
  }
  rx.addRx([2048]);
}
console.log(JSON.stringify({ name: tap.name, sent, stats: handler.stats(), irq, reply: reply === null ? null : Array.from(reply) }));
`;

test('live TAP in a network namespace: ARP request out through NetTx, the kernel reply in through NetRx', (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root (network namespace and TAP)');
    return;
  }
  const ns = `tsvmm-live-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  if (add.status !== 0) {
    t.skip(`ip netns unavailable: ${add.error?.message ?? add.stderr.trim()}`);
    return;
  }
  try {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', CHILD], { encoding: 'utf8', timeout: 20000 });
    if (/TapError (ENOENT|ENODEV|ENXIO|EACCES|EPERM)/.test(r.stderr)) {
      t.skip(`no TAP here: ${r.stderr.trim().split('\n')[0]}`);
      return;
    }
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { name: string; sent: number; stats: { rx: { frames: number }; tx: { frames: number; dropped: number } }; irq: unknown[]; reply: number[] | null };
    assert.equal(out.name, 'tsvt0');
    assert.equal(out.sent, 1);
    assert.deepEqual([out.stats.tx.frames, out.stats.tx.dropped], [1, 0]);
    assert.ok(out.reply !== null, 'an ARP reply arrived');
    const eth = out.reply.slice(12);
    assert.deepEqual(eth.slice(0, 6), [2, 0, 0, 0, 0, 2], 'addressed to the guest MAC');
    assert.deepEqual(eth.slice(28, 32), [10, 0, 0, 1], 'sender is the host side');
    assert.deepEqual(eth.slice(38, 42), [10, 0, 0, 2], 'target is the guest');
    assert.equal(out.reply[10]! | (out.reply[11]! << 8), 1, 'num_buffers = 1');
    assert.ok(out.stats.rx.frames >= 1);
    assert.ok(out.irq.length > 0, 'the guest was interrupted');
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
});
