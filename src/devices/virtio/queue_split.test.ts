import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../memory/guest_memory.js';
import { SplitDriver } from './mock_driver.fixture.js';
import { SplitQueue } from './queue_split.js';
import { DescriptorChain, DescriptorChainError, QueueConfigError, VirtqueueError, type QueueFeatures } from './queue.js';
import { VIRTQ_DESC_F } from './constants.js';

const RAM = 0x10_0000;
const ALL: QueueFeatures = { eventIdx: false, indirect: true };

function setup(size = 8, features: QueueFeatures = ALL) {
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(RAM) }]);
  const driver = new SplitDriver(mem, size, 0x1000, 0x1_0000, RAM);
  const queue = new SplitQueue(mem, driver.layout, features);
  return { mem, driver, queue, chain: new DescriptorChain() };
}

function popError(queue: SplitQueue, chain: DescriptorChain, pattern: RegExp): void {
  assert.throws(() => queue.pop(chain), (e: unknown) => e instanceof DescriptorChainError && pattern.test(e.message));
}

test('a direct chain pops with readable then writable segments and totals', () => {
  const { driver, queue, chain } = setup();
  assert.equal(queue.pop(chain), false);
  const head = driver.addChain([{ len: 16 }, { len: 100 }, { len: 512, write: true }, { len: 1, write: true }]);
  assert.equal(queue.pop(chain), true);
  assert.equal(chain.id, head);
  assert.deepEqual(chain.readableSegments().map((s) => s.len), [16, 100]);
  assert.deepEqual(chain.writableSegments().map((s) => s.len), [512, 1]);
  assert.equal(chain.readableLength, 116);
  assert.equal(chain.writableLength, 513);
  assert.equal(queue.pop(chain), false);
  queue.addUsed(chain, 513);
  assert.deepEqual(driver.takeUsed(), [{ id: head, len: 513 }]);
});

test('segments point at the driver buffers', () => {
  const { driver, queue, chain, mem } = setup();
  driver.addChain([{ len: 4, data: new Uint8Array([1, 2, 3, 4]) }]);
  queue.pop(chain);
  assert.deepEqual([...mem.slice(chain.readableSegments()[0]!.gpa, 4)], [1, 2, 3, 4]);
});

test('an indirect chain pops like a direct one', () => {
  const { driver, queue, chain } = setup();
  const head = driver.addChain([{ len: 16 }, { len: 4096, write: true }, { len: 1, write: true }], { indirect: true });
  assert.equal(queue.pop(chain), true);
  assert.equal(chain.id, head);
  assert.equal(chain.readableCount, 1);
  assert.equal(chain.writableLength, 4097);
});

test('chains are popped in avail order and the queue wraps its 16-bit indices', () => {
  const { driver, queue, chain } = setup(4);
  for (let i = 0; i < 70_000; i++) {
    const head = driver.addChain([{ gpa: 0x2_0000, len: 8 }]);
    assert.equal(queue.pop(chain), true);
    if (chain.id !== head) assert.fail(`iteration ${i}: got ${chain.id}, expected ${head}`);
    queue.addUsed(chain, i & 0xff);
    const used = driver.takeUsed();
    if (used.length !== 1 || used[0]!.len !== (i & 0xff)) assert.fail(`iteration ${i}: bad used ${JSON.stringify(used)}`);
  }
  assert.equal(queue.nextAvailIndex, 70_000 & 0xffff);
  assert.equal(driver.usedIdx(), 70_000 & 0xffff);
});

test('avail.idx further ahead than the queue size is a ring error', () => {
  const { driver, queue, chain } = setup(8);
  driver.setAvailIdx(9);
  assert.throws(() => queue.pop(chain), VirtqueueError);
});

test('a head index out of range is a ring error', () => {
  const { driver, queue, chain } = setup(8);
  driver.publish(8);
  assert.throws(() => queue.pop(chain), VirtqueueError);
});

test('a buffer outside RAM fails that chain only; the next chain still works', () => {
  const { driver, queue, chain } = setup();
  const bad = driver.addChain([{ gpa: RAM - 8, len: 16 }]);
  const good = driver.addChain([{ len: 8 }]);
  popError(queue, chain, /outside guest RAM/);
  assert.equal(chain.id, bad, 'the id is known so the chain can be returned');
  queue.addUsed(chain, 0);
  assert.equal(queue.pop(chain), true);
  assert.equal(chain.id, good);
  assert.deepEqual(driver.takeUsed(), [{ id: bad, len: 0 }]);
});

test('an address that overflows 64 bits or 2^53 is rejected', () => {
  const { driver, queue, chain } = setup();
  driver.writeDescriptor(0, { addr: 0, len: 16, flags: 0 });
  driver.mem.writeU64(driver.layout.desc, 0xffff_ffff_ffff_fff0n);
  driver.publish(0);
  popError(queue, chain, /outside guest RAM/);
  driver.writeDescriptor(1, { addr: 2 ** 52, len: 2 ** 32 - 1, flags: 0 });
  driver.publish(1);
  popError(queue, chain, /outside guest RAM/);
});

test('a looping chain is cut at the queue size', () => {
  const { driver, queue, chain } = setup(4);
  driver.writeDescriptor(0, { addr: 0x2_0000, len: 8, flags: VIRTQ_DESC_F.NEXT, next: 1 });
  driver.writeDescriptor(1, { addr: 0x2_0000, len: 8, flags: VIRTQ_DESC_F.NEXT, next: 0 });
  driver.publish(0);
  popError(queue, chain, /chain longer than the queue size 4 \(loop\?\)/);
});

test('a next index out of range is rejected', () => {
  const { driver, queue, chain } = setup(4);
  driver.writeDescriptor(0, { addr: 0x2_0000, len: 8, flags: VIRTQ_DESC_F.NEXT, next: 4 });
  driver.publish(0);
  popError(queue, chain, /next index 4/);
});

test('a readable descriptor after a writable one is rejected', () => {
  const { driver, queue, chain } = setup();
  driver.addChain([{ len: 8, write: true }, { len: 8 }]);
  popError(queue, chain, /readable descriptor after a device-writable/);
  driver.addChain([{ len: 8 }, { len: 8, write: true }, { len: 8 }], { indirect: true });
  popError(queue, chain, /readable descriptor after a device-writable/);
});

test('indirect tables: must be negotiated, well sized, inside RAM, without NEXT, not nested', () => {
  const noIndirect = setup(8, { eventIdx: false, indirect: false });
  noIndirect.driver.addChain([{ len: 8 }], { indirect: true });
  popError(noIndirect.queue, noIndirect.chain, /without VIRTIO_F_INDIRECT_DESC/);

  const { driver, queue, chain } = setup();
  const table = driver.alloc.alloc(64);
  driver.writeDescriptor(0, { addr: table, len: 24, flags: VIRTQ_DESC_F.INDIRECT });
  driver.publish(0);
  popError(queue, chain, /indirect table length 24/);
  driver.writeDescriptor(1, { addr: table, len: 0, flags: VIRTQ_DESC_F.INDIRECT });
  driver.publish(1);
  popError(queue, chain, /indirect table length 0/);
  driver.writeDescriptor(2, { addr: RAM - 16, len: 32, flags: VIRTQ_DESC_F.INDIRECT });
  driver.publish(2);
  popError(queue, chain, /indirect table .* outside guest RAM/);
  driver.writeDescriptor(3, { addr: table, len: 32, flags: VIRTQ_DESC_F.INDIRECT | VIRTQ_DESC_F.NEXT, next: 4 });
  driver.publish(3);
  popError(queue, chain, /indirect descriptor with NEXT/);
  driver.writeDescriptor(0, { addr: table, len: 16, flags: VIRTQ_DESC_F.INDIRECT }, table);
  driver.writeDescriptor(4, { addr: table, len: 16, flags: VIRTQ_DESC_F.INDIRECT });
  driver.publish(4);
  popError(queue, chain, /nested indirect/);
  // A loop inside an indirect table is bounded by the queue size.
  driver.writeDescriptor(0, { addr: 0x2_0000, len: 8, flags: VIRTQ_DESC_F.NEXT, next: 1 }, table);
  driver.writeDescriptor(1, { addr: 0x2_0000, len: 8, flags: VIRTQ_DESC_F.NEXT, next: 0 }, table);
  driver.writeDescriptor(5, { addr: table, len: 32, flags: VIRTQ_DESC_F.INDIRECT });
  driver.publish(5);
  popError(queue, chain, /chain longer than the queue size 8/);
});

// Found by the fuzzer (queue.fuzz.ts): a queue of 1 walked a 2-entry indirect
// table whose first entry links to itself twice, and any table up to 32768
// entries was walked whatever the queue size (~8M descriptors per kick).
test('fuzz regression: an indirect table longer than the queue size is refused before it is walked', () => {
  const { driver, queue, chain } = setup(1);
  const table = driver.alloc.alloc(32);
  driver.writeDescriptor(0, { addr: 0x2_0000, len: 8, flags: VIRTQ_DESC_F.NEXT, next: 0 }, table);
  driver.writeDescriptor(0, { addr: table, len: 32, flags: VIRTQ_DESC_F.INDIRECT });
  driver.publish(0);
  popError(queue, chain, /head 0: indirect table of 2 descriptors after 0 makes the chain longer than the queue size 1/);
  // The chain is returned and the queue goes on.
  queue.addUsed(chain, 0);
  assert.deepEqual(driver.takeUsed(), [{ id: 0, len: 0 }]);
  const big = setup(8);
  const entries = 32768;
  const t2 = 0x8_0000;
  big.mem.fill(t2, entries * 16, 0);
  big.driver.writeDescriptor(0, { addr: t2, len: entries * 16, flags: VIRTQ_DESC_F.INDIRECT });
  big.driver.publish(0);
  popError(big.queue, big.chain, /indirect table of 32768 descriptors after 0 makes the chain longer than the queue size 8/);
});

test('direct buffers and an indirect table count together against the queue size; exactly the queue size is fine', () => {
  const { driver, queue, chain } = setup(4);
  /** A table of n linked buffers. */
  const linkedTable = (n: number): number => {
    const t = driver.alloc.alloc(16 * n);
    for (let i = 0; i < n; i++) driver.writeDescriptor(i, { addr: 0x2_0000 + 16 * i, len: 16, flags: i + 1 < n ? VIRTQ_DESC_F.NEXT : 0, next: i + 1 }, t);
    return t;
  };
  const three = linkedTable(3);
  // Two direct buffers, then a table of 3: five buffers in a queue of four.
  driver.writeDescriptor(0, { addr: 0x2_0000, len: 8, flags: VIRTQ_DESC_F.NEXT, next: 1 });
  driver.writeDescriptor(1, { addr: 0x2_0000, len: 8, flags: VIRTQ_DESC_F.NEXT, next: 2 });
  driver.writeDescriptor(2, { addr: three, len: 48, flags: VIRTQ_DESC_F.INDIRECT });
  driver.publish(0);
  popError(queue, chain, /indirect table of 3 descriptors after 2 makes the chain longer than the queue size 4/);
  queue.addUsed(chain, 0);
  // One direct buffer and a table of 3, or a table of 4 alone (as Linux sends a queue-size request): accepted.
  driver.writeDescriptor(1, { addr: three, len: 48, flags: VIRTQ_DESC_F.INDIRECT });
  driver.publish(0);
  assert.equal(queue.pop(chain), true);
  assert.equal(chain.readableCount, 4);
  driver.writeDescriptor(3, { addr: linkedTable(4), len: 64, flags: VIRTQ_DESC_F.INDIRECT });
  driver.publish(3);
  assert.equal(queue.pop(chain), true);
  assert.equal(chain.readableCount, 4);
});

test('bad ring placement is refused at construction', () => {
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(0x10000) }]);
  assert.throws(() => new SplitQueue(mem, { size: 6, desc: 0, driver: 0x1000, device: 0x2000 }, ALL), QueueConfigError);
  assert.throws(() => new SplitQueue(mem, { size: 0, desc: 0, driver: 0x1000, device: 0x2000 }, ALL), QueueConfigError);
  assert.throws(() => new SplitQueue(mem, { size: 8, desc: 8, driver: 0x1000, device: 0x2000 }, ALL), QueueConfigError);
  assert.throws(() => new SplitQueue(mem, { size: 8, desc: 0, driver: 0x1001, device: 0x2000 }, ALL), QueueConfigError);
  assert.throws(() => new SplitQueue(mem, { size: 8, desc: 0, driver: 0x1000, device: 0xfff0 }, ALL), QueueConfigError);
  assert.throws(() => new SplitQueue(mem, { size: 8, desc: 0xfff0, driver: 0x1000, device: 0x2000 }, ALL), QueueConfigError);
});

test('without EVENT_IDX: NO_INTERRUPT and NO_NOTIFY flags', () => {
  const { driver, queue, chain } = setup();
  assert.equal(queue.needsInterrupt(), false, 'nothing used yet');
  driver.addChain([{ len: 8 }]);
  queue.pop(chain);
  queue.addUsed(chain, 0);
  assert.equal(queue.needsInterrupt(), true);
  driver.addChain([{ len: 8 }]);
  queue.pop(chain);
  queue.addUsed(chain, 0);
  driver.setNoInterrupt(true);
  assert.equal(queue.needsInterrupt(), false);
  queue.disableNotifications();
  assert.equal(driver.noNotify(), true);
  assert.equal(queue.enableNotifications(), false);
  assert.equal(driver.noNotify(), false);
  driver.addChain([{ len: 8 }]);
  queue.disableNotifications();
  assert.equal(queue.enableNotifications(), true, 'a buffer arrived while kicks were off');
});

test('with EVENT_IDX: used_event decides interrupts, avail_event asks for kicks', () => {
  const { driver, queue, chain } = setup(8, { eventIdx: true, indirect: true });
  const complete = (n: number) => {
    for (let i = 0; i < n; i++) {
      driver.addChain([{ len: 8 }]);
      queue.pop(chain);
      queue.addUsed(chain, 0);
    }
  };
  complete(1);
  assert.equal(queue.needsInterrupt(), true, 'the first interrupt is always sent');
  driver.setUsedEvent(3); // interrupt me when used idx passes 3
  complete(1); // used idx 2
  assert.equal(queue.needsInterrupt(), false);
  complete(1); // 3
  assert.equal(queue.needsInterrupt(), false);
  complete(2); // 5: crossed 3 -> 4
  assert.equal(queue.needsInterrupt(), true);
  complete(1);
  assert.equal(queue.needsInterrupt(), false, 'event 3 is behind');
  assert.equal(queue.enableNotifications(), false);
  assert.equal(driver.availEvent(), 6);
  queue.disableNotifications();
  assert.equal(driver.noNotify(), false, 'EVENT_IDX uses avail_event, not the flag');
});
