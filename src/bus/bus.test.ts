import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus, BusConflictError, type BusDevice } from './bus.js';

class Recorder implements BusDevice {
  log: string[] = [];
  read(offset: number, size: number): number {
    this.log.push(`r${offset}/${size}`);
    return 0x40 + offset;
  }
  write(offset: number, size: number, value: number): void {
    this.log.push(`w${offset}/${size}=${value}`);
  }
}

test('a device sees offsets within its range', () => {
  const bus = new Bus('pio');
  const d = new Recorder();
  bus.register(0x3f8, 8, d);
  assert.equal(bus.read(0x3fd, 1), 0x45);
  assert.equal(bus.write(0x3f8, 1, 65), true);
  assert.deepEqual(d.log, ['r5/1', 'w0/1=65']);
});

test('unclaimed addresses read as all ones and drop writes', () => {
  const bus = new Bus('pio');
  assert.equal(bus.read(0x80, 1), 0xff);
  assert.equal(bus.read(0x80, 2), 0xffff);
  assert.equal(bus.read(0x80, 4), 0xffffffff);
  assert.equal(bus.write(0x80, 1, 0), false);
});

test('overlapping registrations are refused; unregister frees the range', () => {
  const bus = new Bus('mmio');
  const a = new Recorder();
  bus.register(0x1000, 0x100, a);
  assert.throws(() => bus.register(0x10ff, 2, new Recorder()), BusConflictError);
  assert.equal(bus.claims(0x1050), true);
  assert.equal(bus.unregister(0x1000, a), true);
  assert.equal(bus.claims(0x1050), false);
  bus.register(0x10ff, 2, new Recorder());
});

test('overlapping() names a range that intersects a span, and nothing for free spans', () => {
  const bus = new Bus('mmio');
  bus.register(0x1000, 0x100, new Recorder());
  bus.register(0x3000, 0x1000, new Recorder());
  assert.deepEqual(bus.overlapping(0x10ff, 2), { base: 0x1000, end: 0x1100 });
  assert.deepEqual(bus.overlapping(0x2000, 0x2000), { base: 0x3000, end: 0x4000 });
  assert.equal(bus.overlapping(0x1100, 0x1f00), undefined, 'the gap between them, touching both ends');
  assert.equal(bus.overlapping(0x4000, 0x10), undefined);
});
