import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { FdWriter } from './fd_writer.js';
import { ConsoleLine } from './line_state.js';
import { LogWriter } from './log_writer.js';

/** One file both writers append to, as a terminal both write to would be. */
function shared() {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-lw-'));
  const path = join(dir, 'console');
  const fd = openSync(path, 'a');
  return { path, fd, read: () => readFileSync(path, 'utf8'), done: () => (closeSync(fd), rmSync(dir, { recursive: true })) };
}

const put = (w: FdWriter, s: string): void => {
  for (const c of Buffer.from(s)) w.put(c);
  w.flush();
};

test('a tsvmm line after a partial guest line starts on a fresh line; after a whole one, no empty line', () => {
  const f = shared();
  const line = new ConsoleLine();
  const guest = new FdWriter(f.fd, 4096, line);
  const log = new LogWriter({ fd: f.fd, crlf: false, console: line });
  put(guest, 'PROBE hostile_health x');
  log.write('virtio-blk: bad request: header is 3 bytes, not 16');
  put(guest, ' ok\nnext line\n');
  log.write('second');
  assert.equal(f.read(), 'PROBE hostile_health x\ntsvmm: virtio-blk: bad request: header is 3 bytes, not 16\n ok\nnext line\ntsvmm: second\n');
  f.done();
});

test('on a terminal lines end in \\r\\n (it may be raw), the fresh-line break too', () => {
  const f = shared();
  const line = new ConsoleLine();
  const guest = new FdWriter(f.fd, 4096, line);
  const log = new LogWriter({ fd: f.fd, crlf: true, console: line });
  put(guest, 'login: ');
  log.write('two\nlines');
  assert.equal(f.read(), 'login: \r\ntsvmm: two\r\nlines\r\n');
  f.done();
});

test('without a shared console (another file) lines are written as they are', () => {
  const f = shared();
  new LogWriter({ fd: f.fd, crlf: false }).write('alone');
  assert.equal(f.read(), 'tsvmm: alone\n');
  f.done();
});

test('a guest thread writing partial lines while the main thread logs: every tsvmm line starts a line and is whole', async () => {
  const f = shared();
  const line = new ConsoleLine();
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const mod = new URL('./fd_writer.js', import.meta.url).href;
  const lineMod = new URL('./line_state.js', import.meta.url).href;
  const w = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     Promise.all([import(${JSON.stringify(mod)}), import(${JSON.stringify(lineMod)})]).then(([{ FdWriter }, { ConsoleLine }]) => {
       const out = new FdWriter(workerData.fd, 4096, new ConsoleLine(workerData.line));
       for (let i = 0; Atomics.load(workerData.stop, 0) === 0; i++) {
         // A line in three pieces, each flushed on its own, as a guest printing byte by byte would be.
         for (const piece of ['guest ', 'line ' + i, '\\n']) { for (const c of Buffer.from(piece)) out.put(c); out.flush(); }
         if (i === 10) parentPort.postMessage('writing');
       }
       parentPort.postMessage('done');
     });`,
    { eval: true, workerData: { fd: f.fd, line: line.buffer, stop } },
  );
  await new Promise<void>((r) => w.once('message', () => r()));
  const log = new LogWriter({ fd: f.fd, crlf: false, console: line });
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 300; i++) {
    log.write(`log line ${i}`);
    Atomics.wait(pause, 0, 0, 0.2); // let the guest thread get on between our lines
  }
  Atomics.store(stop, 0, 1);
  await new Promise<void>((r) => w.once('message', () => r()));
  await w.terminate();
  const lines = f.read().split('\n');
  const ours = lines.filter((l) => l.includes('tsvmm:'));
  assert.equal(ours.length, 300);
  for (const l of ours) assert.match(l, /^tsvmm: log line \d+$/, 'starts its own line, whole');
  const guest = lines.filter((l) => l !== '' && !l.startsWith('tsvmm:'));
  for (const l of guest) assert.match(l, /^(guest (line \d+)?|line \d+)$/, 'guest lines are only ever split where a tsvmm line went');
  const split = guest.filter((l) => !l.startsWith('guest line')).length / 2;
  console.log(`# ${split} guest lines were split by a tsvmm line (${guest.length} lines in all)`);
  f.done();
});
