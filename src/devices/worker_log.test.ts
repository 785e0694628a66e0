import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { LOG_WORD, LogReceiver, LogSender, MAX_IN_FLIGHT, createLogWords, createWorkerLog, droppedNote } from './worker_log.js';

test('with nobody writing, a sender posts MAX_IN_FLIGHT lines and counts the rest; the writer notes them once it catches up', () => {
  const words = createLogWords();
  const posted: string[] = [];
  const sender = new LogSender(words, (l) => posted.push(l));
  for (let i = 0; i < 1000; i++) sender.send(`line ${i}`);
  assert.equal(posted.length, MAX_IN_FLIGHT);
  assert.equal(Atomics.load(new Int32Array(words), LOG_WORD.DROPPED), 1000 - MAX_IN_FLIGHT);
  const receiver = new LogReceiver(words);
  const notes = posted.map(() => receiver.written()).filter((n) => n !== undefined);
  assert.deepEqual(notes, [droppedNote(1000 - MAX_IN_FLIGHT)], 'one note, when the last waiting line was written');
  assert.equal(droppedNote(936), '(936 lines dropped: the log could not keep up)');
});

test('lines dropped while the queue was full are noted before the next line that gets through', () => {
  const words = createLogWords();
  const posted: string[] = [];
  const sender = new LogSender(words, (l) => posted.push(l), 2);
  const receiver = new LogReceiver(words);
  for (const l of ['a', 'b', 'c', 'd']) sender.send(l); // c, d dropped
  assert.deepEqual(posted, ['a', 'b']);
  assert.equal(receiver.written(), undefined); // a written: one still waits
  sender.send('e'); // room again: the note comes first
  assert.deepEqual(posted, ['a', 'b', droppedNote(2), 'e']);
  assert.equal(receiver.written(), undefined);
  assert.equal(receiver.written(), undefined);
  assert.equal(receiver.written(), undefined, 'no second note');
});

test('a drop that finds the queue already empty is reported by the sender itself', () => {
  // The writer looks for a count only when it empties the queue; a drop counted just
  // after that must not wait for a next line that may never come. With a limit of 0
  // every line is dropped into an empty queue, which is that case every time.
  const words = createLogWords();
  const posted: string[] = [];
  const sender = new LogSender(words, (l) => posted.push(l), 0);
  sender.send('a');
  sender.send('b');
  assert.deepEqual(posted, [droppedNote(1)], 'the second drop finds the note still in flight');
  assert.equal(new LogReceiver(words).written(), droppedNote(1), 'and the writer reports it once the first note is written');
});

test('a real worker flooding its log while the main thread is blocked leaves at most MAX_IN_FLIGHT + 1 messages waiting', async () => {
  const words = createLogWords();
  const done = new Int32Array(new SharedArrayBuffer(4));
  const mod = new URL('./worker_log.js', import.meta.url).href;
  const w = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     import(${JSON.stringify(mod)}).then(({ LogSender }) => {
       const s = new LogSender(workerData.words, (line) => parentPort.postMessage(line));
       for (let i = 0; i < 10000; i++) s.send('line ' + i);
       Atomics.store(workerData.done, 0, 1);
       Atomics.notify(workerData.done, 0);
     });`,
    { eval: true, workerData: { words, done } },
  );
  const received: string[] = [];
  const receiver = new LogReceiver(words);
  w.on('message', (line: string) => {
    received.push(line);
    const note = receiver.written();
    if (note !== undefined) received.push(note);
  });
  // The main thread is "a slow writer": blocked until the worker has sent all 10,000.
  while (Atomics.load(done, 0) === 0) Atomics.wait(done, 0, 0);
  await new Promise((r) => setImmediate(r));
  await w.terminate();
  assert.equal(received.length, MAX_IN_FLIGHT + 1, received.slice(-3).join(' | '));
  assert.equal(received.at(-1), droppedNote(10000 - MAX_IN_FLIGHT));
});

test('createWorkerLog: a line repeated by a guest (numbers differ) is rate-limited before it is sent', () => {
  const posted: string[] = [];
  const log = createWorkerLog(createLogWords(), (l) => posted.push(l));
  for (let i = 0; i < 5000; i++) log(`virtio-blk: queue 0 unusable, device needs reset: avail index ${i} is ahead`);
  assert.ok(posted.length <= 8 + 9, `${posted.length} lines`);
});
