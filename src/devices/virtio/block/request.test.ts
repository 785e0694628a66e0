import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../../memory/guest_memory.js';
import { SplitDriver, type MockBuffer } from '../mock_driver.fixture.js';
import { SplitQueue } from '../queue_split.js';
import { DescriptorChain } from '../queue.js';
import { parseRequest, type BlockLimits, type BlockRequest } from './request.js';
import { VIRTIO_BLK_S, VIRTIO_BLK_T } from './constants.js';

const LIMITS: BlockLimits = { capacity: 100, readOnly: false, segMax: 4, sizeMax: 4096, maxDiscardSectors: 50, maxWriteZeroesSectors: 50 };

function header(type: number, sector: number | bigint): Uint8Array {
  const h = new Uint8Array(16);
  const v = new DataView(h.buffer);
  v.setUint32(0, type, true);
  v.setBigUint64(8, BigInt(sector), true);
  return h;
}

function dwz(sector: number, sectors: number, flags: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(sector), true);
  v.setUint32(8, sectors, true);
  v.setUint32(12, flags, true);
  return b;
}

function parse(buffers: MockBuffer[], limits = LIMITS): { req: BlockRequest; driver: SplitDriver } {
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(0x10_0000) }]);
  const driver = new SplitDriver(mem, 16, 0x1000, 0x1_0000, 0x10_0000);
  const queue = new SplitQueue(mem, driver.layout, { eventIdx: false, indirect: true });
  driver.addChain(buffers);
  const chain = new DescriptorChain();
  assert.equal(queue.pop(chain), true);
  return { req: parseRequest(mem, chain, limits), driver };
}

const status: MockBuffer = { len: 1, write: true };

test('IN: data segments are the writable buffers minus the status byte', () => {
  const { req } = parse([{ len: 16, data: header(VIRTIO_BLK_T.IN, 7) }, { len: 1024, write: true }, status]);
  assert.equal(req.kind, 'in');
  if (req.kind !== 'in') return;
  assert.equal(req.sector, 7);
  assert.equal(req.bytes, 1024);
  assert.equal(req.data.count, 1);
  // Status and data sharing one buffer works too.
  const shared = parse([{ len: 16, data: header(VIRTIO_BLK_T.IN, 0) }, { len: 513, write: true }]).req;
  assert.equal(shared.kind, 'in');
  if (shared.kind === 'in') assert.equal(shared.data.len(0), 512);
});

test('OUT: a header split across descriptors and data after it', () => {
  const h = header(VIRTIO_BLK_T.OUT, 99);
  const { req } = parse([{ len: 5, data: h.subarray(0, 5) }, { len: 11, data: h.subarray(5) }, { len: 512 }, status]);
  assert.equal(req.kind, 'out');
  if (req.kind === 'out') assert.deepEqual([req.sector, req.bytes, req.data.count], [99, 512, 1]);
  // Header and data in one buffer.
  const one = new Uint8Array(16 + 512);
  one.set(header(VIRTIO_BLK_T.OUT, 1));
  const r2 = parse([{ len: one.length, data: one }, status]).req;
  assert.equal(r2.kind, 'out');
  if (r2.kind === 'out') assert.equal(r2.data.len(0), 512);
});

test('requests past the end, or with bad sizes, fail with IOERR', () => {
  const bad = (buffers: MockBuffer[], pattern: RegExp, code: number = VIRTIO_BLK_S.IOERR, limits = LIMITS) => {
    const { req } = parse(buffers, limits);
    assert.equal(req.kind, 'error', `expected an error matching ${pattern}`);
    if (req.kind !== 'error') return;
    assert.match(req.reason, pattern);
    assert.equal(req.code, code);
    assert.notEqual(req.status, null);
  };
  bad([{ len: 16, data: header(VIRTIO_BLK_T.IN, 99) }, { len: 1024, write: true }, status], /past the end/);
  bad([{ len: 16, data: header(VIRTIO_BLK_T.IN, 2n ** 64n - 1n) }, { len: 512, write: true }, status], /past the end/);
  bad([{ len: 16, data: header(VIRTIO_BLK_T.IN, 2n ** 53n - 1n) }, { len: 512, write: true }, status], /past the end/);
  bad([{ len: 16, data: header(VIRTIO_BLK_T.IN, 0) }, { len: 100, write: true }, status], /not a multiple of 512/);
  bad([{ len: 16, data: header(VIRTIO_BLK_T.OUT, 0) }, { len: 8192 }, status], /size_max/);
  bad([{ len: 16, data: header(VIRTIO_BLK_T.OUT, 0) }, ...Array.from({ length: 5 }, () => ({ len: 512 })), status], /seg_max/);
  bad([{ len: 12, data: header(VIRTIO_BLK_T.IN, 0) }, status], /header is 12 bytes/);
  bad([{ len: 16, data: header(VIRTIO_BLK_T.IN, 0) }, { len: 512 }, status], /readable data/);
  bad([{ len: 16, data: header(VIRTIO_BLK_T.OUT, 0) }, { len: 512, write: true }, status], /writable data/);
  bad([{ len: 16, data: header(VIRTIO_BLK_T.FLUSH, 0) }, { len: 512, write: true }, status], /flush request with data/);
  bad([{ len: 16, data: header(VIRTIO_BLK_T.OUT, 0) }, { len: 512 }, status], /read-only/, VIRTIO_BLK_S.IOERR, { ...LIMITS, readOnly: true });
  bad([{ len: 16, data: header(0x77, 0) }, status], /type 119 not supported/, VIRTIO_BLK_S.UNSUPP);
});

test('a chain with no writable byte has nowhere to put a status', () => {
  const { req } = parse([{ len: 16, data: header(VIRTIO_BLK_T.FLUSH, 0) }]);
  assert.deepEqual([req.kind, req.code, req.reason, req.status], ['error', VIRTIO_BLK_S.IOERR, 'no writable status byte', null]);
});

test('FLUSH and GET_ID', () => {
  assert.equal(parse([{ len: 16, data: header(VIRTIO_BLK_T.FLUSH, 0) }, status]).req.kind, 'flush');
  const { req } = parse([{ len: 16, data: header(VIRTIO_BLK_T.GET_ID, 0) }, { len: 64, write: true }, status]);
  assert.equal(req.kind, 'get_id');
  if (req.kind === 'get_id') assert.equal(req.bytes, 20, 'at most 20 bytes');
});

test('DISCARD and WRITE_ZEROES: one segment, flags, limits, range', () => {
  const wz = parse([{ len: 16, data: header(VIRTIO_BLK_T.WRITE_ZEROES, 0) }, { len: 16, data: dwz(10, 5, 1) }, status]).req;
  assert.deepEqual(wz.kind === 'write_zeroes' ? [wz.sector, wz.sectors, wz.unmap] : wz, [10, 5, true]);
  const d = parse([{ len: 16, data: header(VIRTIO_BLK_T.DISCARD, 0) }, { len: 16, data: dwz(0, 50, 0) }, status]).req;
  assert.equal(d.kind, 'discard');
  const err = (buffers: MockBuffer[]) => parse(buffers).req;
  const e1 = err([{ len: 16, data: header(VIRTIO_BLK_T.DISCARD, 0) }, { len: 16, data: dwz(0, 1, 1) }, status]);
  assert.equal(e1.kind === 'error' && e1.code, VIRTIO_BLK_S.UNSUPP, 'unmap on discard');
  const e2 = err([{ len: 16, data: header(VIRTIO_BLK_T.WRITE_ZEROES, 0) }, { len: 16, data: dwz(0, 51, 0) }, status]);
  assert.equal(e2.kind === 'error' && e2.code, VIRTIO_BLK_S.IOERR, 'more than the maximum');
  const e3 = err([{ len: 16, data: header(VIRTIO_BLK_T.WRITE_ZEROES, 0) }, { len: 16, data: dwz(90, 20, 0) }, status]);
  assert.match(e3.kind === 'error' ? e3.reason : '', /past the end/);
  const e4 = err([{ len: 16, data: header(VIRTIO_BLK_T.WRITE_ZEROES, 0) }, { len: 32 }, status]);
  assert.match(e4.kind === 'error' ? e4.reason : '', /one 16-byte segment/);
});
