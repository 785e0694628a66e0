// A disk image truncated by another process while the guest runs: through
// the queue handler and the driver mock, on a real file, every kind of
// request gets an answer (I/O errors past the new end), the worker's code
// never throws, and the file is never grown back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestMemory } from '../../../memory/guest_memory.js';
import { SplitDriver, type MockBuffer } from '../mock_driver.fixture.js';
import { SplitQueue } from '../queue_split.js';
import { createSharedState } from '../shared_state.js';
import { FileBackend } from './backend.js';
import { VIRTIO_BLK_S, VIRTIO_BLK_T } from './constants.js';
import { BlockExecutor } from './executor.js';
import { BlockQueueHandler } from './queue_handler.js';

const RAM = 0x10_0000;
const SECTOR = 512;
const SECTORS = 64;
const STATUS = 0x9_0000;

function header(type: number, sector: number): Uint8Array {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(sector, 8);
  return h;
}

function segment(sector: number, sectors: number, unmap: boolean): Uint8Array {
  const s = Buffer.alloc(16);
  s.writeUInt32LE(sector, 0);
  s.writeUInt32LE(sectors, 8);
  s.writeUInt32LE(unmap ? 1 : 0, 12);
  return s;
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-trunc-'));
  const path = join(dir, 'disk.img');
  const pattern = Buffer.alloc(SECTORS * SECTOR);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7 + 1) & 0xff;
  writeFileSync(path, pattern);
  const fd = openSync(path, 'r+');
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(RAM) }]);
  const driver = new SplitDriver(mem, 16, 0x1000, 0x1_0000, RAM);
  const queue = new SplitQueue(mem, driver.layout, { eventIdx: false, indirect: false });
  const lines: string[] = [];
  const device = new BlockExecutor({ size: SECTORS * SECTOR, readOnly: false, serial: 'x', log: (l) => lines.push(l) });
  const handler = new BlockQueueHandler(mem, queue, 0, device, new FileBackend(fd), createSharedState(1, false), { queue: () => undefined, config: () => undefined }, (l) => lines.push(l));
  /** Submits one request and returns its status byte (the handler must not throw). */
  const request = (buffers: MockBuffer[]): number => {
    mem.writeU8(STATUS, 0xff);
    driver.addChain([...buffers, { gpa: STATUS, len: 1, write: true }]);
    assert.equal(handler.process(), 1);
    assert.equal(driver.takeUsed().length, 1);
    assert.equal(handler.failed, false);
    return mem.readU8(STATUS);
  };
  const read = (sector: number, sectors = 1) => request([{ len: 16, data: header(VIRTIO_BLK_T.IN, sector) }, { gpa: 0x8_0000, len: sectors * SECTOR, write: true }]);
  const write = (sector: number, sectors = 1, fill = 0xee) => request([{ len: 16, data: header(VIRTIO_BLK_T.OUT, sector) }, { len: sectors * SECTOR, data: Buffer.alloc(sectors * SECTOR, fill) }]);
  const flush = () => request([{ len: 16, data: header(VIRTIO_BLK_T.FLUSH, 0) }]);
  const zeroes = (sector: number, sectors: number, unmap: boolean) => request([{ len: 16, data: header(VIRTIO_BLK_T.WRITE_ZEROES, 0) }, { len: 16, data: segment(sector, sectors, unmap) }]);
  const discard = (sector: number, sectors: number) => request([{ len: 16, data: header(VIRTIO_BLK_T.DISCARD, 0) }, { len: 16, data: segment(sector, sectors, false) }]);
  const size = () => statSync(path).size;
  const done = () => (closeSync(fd), rmSync(dir, { recursive: true, force: true }));
  return { path, pattern, mem, lines, read, write, flush, zeroes, discard, size, done };
}

const { OK, IOERR } = VIRTIO_BLK_S;

test('an image truncated mid-sector: I/O errors past the new end, service as usual before it, the file never grown', () => {
  const t = setup();
  try {
    const newSize = 10 * SECTOR + 100; // another process cut it inside sector 10
    truncateSync(t.path, newSize);
    assert.equal(t.read(2), OK, 'a read before the new end');
    assert.ok(Buffer.from(t.mem.slice(0x8_0000, SECTOR)).equals(t.pattern.subarray(2 * SECTOR, 3 * SECTOR)), 'the data read is the file data');
    assert.equal(t.read(20), IOERR, 'a read past it');
    assert.equal(t.read(9, 2), IOERR, 'a read across it');
    assert.equal(t.write(3), OK, 'a write before it');
    assert.equal(t.write(30), IOERR, 'a write past it');
    assert.equal(t.write(10), IOERR, 'a write across it');
    assert.equal(t.zeroes(40, 8, false), IOERR, 'write zeroes past it');
    assert.equal(t.zeroes(40, 8, true), IOERR, 'write zeroes (unmap) past it');
    assert.equal(t.discard(40, 8), IOERR, 'a discard past it');
    assert.equal(t.zeroes(4, 1, false), OK, 'write zeroes before it');
    assert.equal(t.flush(), OK);
    assert.equal(t.size(), newSize, 'no request grew the file back');
    const bytes = readFileSync(t.path);
    assert.ok(bytes.subarray(3 * SECTOR, 4 * SECTOR).every((b) => b === 0xee), 'the write before the end landed');
    assert.ok(bytes.subarray(4 * SECTOR, 5 * SECTOR).every((b) => b === 0), 'so did the zeroing');
    assert.ok(bytes.subarray(5 * SECTOR).equals(t.pattern.subarray(5 * SECTOR, newSize)), 'nothing else changed');
    assert.ok(t.lines.some((l) => /reaches past the image's end at byte 5220/.test(l)), t.lines.join('\n'));
  } finally {
    t.done();
  }
});

test('an image truncated to nothing, then grown back by its owner: errors while it is empty, service again after', () => {
  const t = setup();
  try {
    truncateSync(t.path, 0);
    for (const status of [t.read(0), t.write(0), t.zeroes(0, 1, false), t.discard(0, 1)]) assert.equal(status, IOERR);
    assert.equal(t.flush(), OK);
    assert.equal(t.size(), 0);
    truncateSync(t.path, SECTORS * SECTOR);
    assert.equal(t.write(30, 1, 0x5a), OK);
    assert.equal(t.read(30), OK);
    assert.ok(t.mem.slice(0x8_0000, SECTOR).every((b) => b === 0x5a));
    assert.equal(t.size(), SECTORS * SECTOR);
  } finally {
    t.done();
  }
});
