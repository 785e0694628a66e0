import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../memory/guest_memory.js';
import { PackedDriver } from './mock_driver.fixture.js';
import { PackedQueue } from './queue_packed.js';
import { DescriptorChain, DescriptorChainError, QueueConfigError, VirtqueueError, type QueueFeatures } from './queue.js';
import { PACKED, VIRTQ_DESC_F } from './constants.js';

const RAM = 0x10_0000;
const ALL: QueueFeatures = { eventIdx: false, indirect: true };

function setup(size = 8, features: QueueFeatures = ALL) {
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(RAM) }]);
  const driver = new PackedDriver(mem, size, 0x1000, 0x1_0000, RAM);
  const queue = new PackedQueue(mem, driver.layout, features);
  return { mem, driver, queue, chain: new DescriptorChain() };
}

function popError(queue: PackedQueue, chain: DescriptorChain, pattern: RegExp): void {
  assert.throws(() => queue.pop(chain), (e: unknown) => e instanceof DescriptorChainError && pattern.test(e.message));
}

test('a chain pops with its buffer id and ring count; used descriptors carry the wrap counter', () => {
  const { driver, queue, chain } = setup();
  assert.equal(queue.pop(chain), false);
  const id = driver.addChain([{ len: 16 }, { len: 512, write: true }, { len: 1, write: true }], { id: 5 });
  assert.equal(queue.pop(chain), true);
  assert.equal(chain.id, id);
  assert.equal(chain.ringCount, 3);
  assert.equal(chain.readableLength, 16);
  assert.equal(chain.writableLength, 513);
  assert.equal(queue.pop(chain), false);
  queue.addUsed(chain, 513);
  assert.deepEqual(driver.takeUsed(), [{ id: 5, len: 513 }]);
  assert.equal(queue.nextUsedIndex, 3);
});

test('indirect buffers take one ring slot', () => {
  const { driver, queue, chain } = setup();
  driver.addChain([{ len: 16 }, { len: 4096, write: true }, { len: 1, write: true }], { indirect: true, id: 2 });
  assert.equal(queue.pop(chain), true);
  assert.equal(chain.ringCount, 1);
  assert.equal(chain.readableCount, 1);
  assert.equal(chain.writableCount, 2);
  queue.addUsed(chain, 1);
  assert.deepEqual(driver.takeUsed(), [{ id: 2, len: 1 }]);
});

test('chains that cross the end of the ring, over many laps, flip both wrap counters', () => {
  const { driver, queue, chain } = setup(5);
  for (let i = 0; i < 200; i++) {
    const n = 1 + (i % 3);
    const id = driver.addChain(Array.from({ length: n }, (_, k) => ({ gpa: 0x2_0000, len: 8, write: k === n - 1 })), { id: i % 5 });
    assert.equal(queue.pop(chain), true);
    if (chain.id !== id || chain.ringCount !== n) assert.fail(`iteration ${i}: id ${chain.id} count ${chain.ringCount}`);
    assert.equal(queue.pop(chain), false);
    queue.addUsed(chain, i);
    assert.deepEqual(driver.takeUsed(), [{ id, len: i }]);
  }
  // 200 chains of 1,2,3,1,2,3... = 399 descriptors: 79 laps of 5 plus 4.
  assert.equal(queue.nextAvailIndex, 399 % 5);
  assert.equal(queue.availWrapCounter, Math.floor(399 / 5) % 2 === 0);
  assert.equal(queue.usedWrapCounter, queue.availWrapCounter);
});

test('a descriptor from the previous lap is not available', () => {
  const { driver, queue, chain } = setup(2);
  driver.addChain([{ len: 8 }]);
  driver.addChain([{ len: 8 }]);
  queue.pop(chain);
  queue.pop(chain);
  assert.equal(queue.pop(chain), false, 'slot 0 still has the old wrap bits');
});

test('a chain that never ends is a ring error', () => {
  const { driver, queue, chain } = setup(4);
  driver.addRaw([0, 1, 2, 3].map(() => ({ addr: 0x2_0000, len: 8, flags: VIRTQ_DESC_F.NEXT })));
  assert.throws(() => queue.pop(chain), VirtqueueError);
});

test('bad buffers fail that chain, and the ring moves past it', () => {
  const { driver, queue, chain } = setup();
  driver.addChain([{ len: 8 }, { gpa: RAM - 4, len: 8, write: true }], { id: 3 });
  const good = driver.addChain([{ len: 8 }], { id: 4 });
  popError(queue, chain, /outside guest RAM/);
  assert.equal(chain.id, 3);
  assert.equal(chain.ringCount, 2);
  queue.addUsed(chain, 0);
  assert.equal(queue.pop(chain), true);
  assert.equal(chain.id, good);
  assert.deepEqual(driver.takeUsed(), [{ id: 3, len: 0 }]);
  driver.addRaw([{ addr: 0xffff_ffff_0000, len: 8, flags: 0, id: 1 }]);
  popError(queue, chain, /outside guest RAM/);
});

test('write-only before read-only, indirect misuse and nesting are rejected', () => {
  const { driver, queue, chain } = setup(16);
  driver.addChain([{ len: 8, write: true }, { len: 8 }]);
  popError(queue, chain, /readable descriptor after/);
  driver.addChain([{ len: 8, write: true }, { len: 8 }], { indirect: true });
  popError(queue, chain, /readable descriptor after/);
  const table = driver.alloc.alloc(64);
  driver.addRaw([
    { addr: 0x2_0000, len: 8, flags: VIRTQ_DESC_F.NEXT },
    { addr: table, len: 16, flags: VIRTQ_DESC_F.INDIRECT },
  ]);
  popError(queue, chain, /indirect descriptor inside a chain/);
  driver.writeDescriptor(0, { addr: table, len: 16, flags: VIRTQ_DESC_F.INDIRECT }, table);
  driver.addRaw([{ addr: table, len: 16, flags: VIRTQ_DESC_F.INDIRECT }]);
  popError(queue, chain, /nested indirect/);
  driver.addRaw([{ addr: table, len: 20, flags: VIRTQ_DESC_F.INDIRECT }]);
  popError(queue, chain, /indirect table length 20/);
  driver.addRaw([{ addr: RAM - 16, len: 32, flags: VIRTQ_DESC_F.INDIRECT }]);
  popError(queue, chain, /indirect table .* outside/);
  const plain = setup(4, { eventIdx: false, indirect: false });
  plain.driver.addChain([{ len: 8 }], { indirect: true });
  popError(plain.queue, plain.chain, /without VIRTIO_F_INDIRECT_DESC/);
});

// Found by the fuzzer (queue.fuzz.ts): a queue of 2 handed out a 3-buffer
// chain from an indirect table; tables of up to 32768 entries were accepted
// whatever the queue size.
test('fuzz regression: an indirect table longer than the queue size is refused; the buffer is returned and the ring goes on', () => {
  const { driver, queue, chain } = setup(2);
  const table = driver.alloc.alloc(48);
  driver.addRaw([{ addr: table, len: 48, flags: VIRTQ_DESC_F.INDIRECT, id: 1 }]);
  popError(queue, chain, /buffer 1: indirect table of 3 descriptors is longer than the queue size 2/);
  queue.addUsed(chain, 0);
  assert.deepEqual(driver.takeUsed(), [{ id: 1, len: 0 }]);
  const ok = driver.addChain([{ len: 8 }, { len: 8, write: true }], { indirect: true });
  assert.equal(queue.pop(chain), true);
  assert.equal(chain.id, ok);
  assert.equal(chain.readableCount + chain.writableCount, 2, 'a table of exactly the queue size is fine');
});

test('bad ring placement is refused', () => {
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(0x10000) }]);
  assert.doesNotThrow(() => new PackedQueue(mem, { size: 6, desc: 0, driver: 0x1000, device: 0x1004 }, ALL), 'any size works for packed');
  assert.throws(() => new PackedQueue(mem, { size: 0, desc: 0, driver: 0x1000, device: 0x1004 }, ALL), QueueConfigError);
  assert.throws(() => new PackedQueue(mem, { size: 8, desc: 8, driver: 0x1000, device: 0x1004 }, ALL), QueueConfigError);
  assert.throws(() => new PackedQueue(mem, { size: 8, desc: 0, driver: 0x1002, device: 0x1004 }, ALL), QueueConfigError);
  assert.throws(() => new PackedQueue(mem, { size: 8, desc: 0xffa0, driver: 0x1000, device: 0x1004 }, ALL), QueueConfigError);
  assert.throws(() => new PackedQueue(mem, { size: 8, desc: 0, driver: 0x1000, device: 0x10000 }, ALL), QueueConfigError);
});

test('driver event suppression: enable, disable, and descriptor events across a wrap', () => {
  const { driver, queue, chain } = setup(4, { eventIdx: true, indirect: true });
  const complete = (n: number) => {
    for (let i = 0; i < n; i++) {
      driver.addChain([{ len: 8 }]);
      queue.pop(chain);
      queue.addUsed(chain, 0);
    }
    driver.takeUsed();
  };
  assert.equal(queue.needsInterrupt(), false, 'nothing used');
  complete(1);
  assert.equal(queue.needsInterrupt(), true);
  driver.setDriverEvent(PACKED.EVENT_FLAGS_DISABLE);
  complete(1);
  assert.equal(queue.needsInterrupt(), false);
  // Ask for an interrupt when the used descriptor at position 1 of the next lap is written.
  driver.setDriverEvent(PACKED.EVENT_FLAGS_DESC, 1 | 0);
  complete(2); // positions 2,3 -> wraps to lap 2
  assert.equal(queue.needsInterrupt(), false);
  complete(1); // position 0 (lap 2)
  assert.equal(queue.needsInterrupt(), false);
  complete(1); // position 1 (lap 2): the event
  assert.equal(queue.needsInterrupt(), true);
  driver.setDriverEvent(PACKED.EVENT_FLAGS_ENABLE);
  complete(1);
  assert.equal(queue.needsInterrupt(), true);
});

test('device event suppression: kicks off while busy, then an event at the next avail position', () => {
  const { driver, queue, chain } = setup(4, { eventIdx: true, indirect: true });
  queue.disableNotifications();
  assert.equal(driver.deviceEvent().flags, PACKED.EVENT_FLAGS_DISABLE);
  for (let i = 0; i < 5; i++) {
    driver.addChain([{ len: 8 }]);
    queue.pop(chain);
    queue.addUsed(chain, 0);
  }
  assert.equal(queue.enableNotifications(), false);
  assert.deepEqual(driver.deviceEvent(), { flags: PACKED.EVENT_FLAGS_DESC, offWrap: 1 }, 'position 1, wrap counter 0');
  driver.addChain([{ len: 8 }]);
  assert.equal(queue.enableNotifications(), true);
  const plain = setup(4);
  assert.equal(plain.queue.enableNotifications(), false);
  assert.equal(plain.driver.deviceEvent().flags, PACKED.EVENT_FLAGS_ENABLE);
});
