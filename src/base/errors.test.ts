import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync } from 'node:fs';
import { TsvmmError, errnoCode, isErrno } from './errors.js';
import { hex } from './format.js';

class ExampleError extends TsvmmError {}

test('a TsvmmError subclass is named after itself and keeps its cause', () => {
  const cause = new Error('inner');
  const e = new ExampleError('outer', { cause });
  assert.equal(e.name, 'ExampleError');
  assert.equal(e.message, 'outer');
  assert.equal(e.cause, cause);
  assert.ok(e instanceof TsvmmError && e instanceof Error);
  assert.match(String(e), /^ExampleError: outer$/);
});

test('errnoCode reads Node\'s and the addon\'s errno names and nothing else', () => {
  let fsError: unknown;
  try {
    openSync('/nonexistent/tsvmm', 'r');
  } catch (err) {
    fsError = err;
  }
  assert.equal(errnoCode(fsError), 'ENOENT');
  assert.equal(isErrno(fsError, 'ENOENT'), true);
  assert.equal(isErrno(fsError, 'EACCES'), false);
  const native = Object.assign(new Error('ioctl: EINTR'), { code: 'EINTR', errno: 4 });
  assert.equal(errnoCode(native), 'EINTR');
  assert.equal(errnoCode(Object.assign(new Error('x'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })), undefined, "Node's own ERR_ codes are not errnos");
  assert.equal(errnoCode({ code: 'ENOENT' }), undefined, 'not an Error');
  assert.equal(errnoCode(undefined), undefined);
});

test('hex', () => {
  assert.equal(hex(0x1f000), '0x1f000');
  assert.equal(hex(0n), '0x0');
  assert.equal(hex(2n ** 64n - 1n), '0xffffffffffffffff');
});
