#!/usr/bin/env node
// Host baseline for bench/blk.mjs: the three workloads of the blkbench
// guest (test/guests/blkbench.c), done with pread on the image directly.
//
//   node bench/host_pread.mjs --image FILE [--secs N | --ops N] [--no-verify]
//
//   rand4k_qd1   4 KiB preadv at random 4 KiB-aligned offsets, one at a time
//                (the addon's preadv, the call the VMM's block backend makes;
//                fs.readSync if the addon is not built)
//   rand4k_qd32  the same with 32 reads in flight: fs.read() on libuv's
//                thread pool (UV_THREADPOOL_SIZE, default 4 threads); the
//                reported figure is the better of that and the QD1 loop
//                (how=async|sync), since few CPUs gain nothing from depth
//   seq64k_qd1   64 KiB reads, sequential, wrapping at the end, one at a time
//
// Each workload gets 64 unreported warm-up reads, then runs for --secs
// (default 3) or --ops reads. Prints, like the guest:
//   BENCH <workload>_<sync|async> ops=<n> ns=<elapsed> bytes=<b>   each variant
//   BENCH <workload> ops=<n> ns=<elapsed> bytes=<b> how=<sync|async>  the figure
//   BENCH DONE
// With verification on (the default) every 4 KiB block read must start with
// its block number as a little-endian u64, as bench/blk.mjs writes the image.
import { openSync, closeSync, fstatSync, readSync, read } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const BLOCK = 4096;
const SEQ_LEN = 65536;

function parseArgs(argv) {
  const o = { image: undefined, secs: 3, ops: 0, verify: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--image') o.image = val();
    else if (a === '--secs') o.secs = Number(val());
    else if (a === '--ops') o.ops = Number(val());
    else if (a === '--no-verify') o.verify = false;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.image) throw new Error('--image FILE is required');
  return o;
}

/** The addon's preadv (what the VMM's virtio-blk backend calls), or undefined. */
function loadPreadv() {
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    const require = createRequire(import.meta.url);
    const addon = require('node-gyp-build')(join(here, '..')); // build/Release, else prebuilds/
    return typeof addon.preadv === 'function' ? addon.preadv.bind(addon) : undefined;
  } catch {
    return undefined;
  }
}

/** xorshift32: a cheap reproducible stream of random block numbers. */
function makeRng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export async function runHostBench({ image, secs = 3, ops = 0, verify = true, log = console.log }) {
  const fd = openSync(image, 'r');
  const size = fstatSync(fd).size;
  const preadv = loadPreadv();
  const method = preadv ? 'addon preadv' : 'fs.readSync';
  const readAt = preadv ? (buf, pos) => preadv(fd, [buf], pos) : (buf, pos) => readSync(fd, buf, 0, buf.length, pos);
  const rng = makeRng(0x9e3779b9);
  let seqPos = 0;

  const check = (buf, pos, n) => {
    if (n !== buf.length) throw new Error(`short read at ${pos}: ${n} of ${buf.length}`);
    if (!verify) return;
    for (let off = 0; off < buf.length; off += BLOCK) {
      const want = (pos + off) / BLOCK;
      const got = buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * 2 ** 32;
      if (got !== want) throw new Error(`block ${want} starts with ${got}: image not written by bench/blk.mjs? (--no-verify)`);
    }
  };
  const nextPos = (len, random) => {
    const n = Math.floor(size / len);
    if (random) return (rng() % n) * len;
    const p = seqPos;
    seqPos += len;
    if (seqPos + len > n * len) seqPos = 0;
    return p;
  };

  const stopAfter = (start, max, count) => (max ? count >= max : Number(process.hrtime.bigint() - start) >= secs * 1e9);

  // one read at a time, synchronously
  const runSync = (len, random, max) => {
    const buf = Buffer.alloc(len);
    const start = process.hrtime.bigint();
    let count = 0;
    do {
      const pos = nextPos(len, random);
      check(buf, pos, readAt(buf, pos));
      count++;
    } while (!stopAfter(start, max, count));
    return { count, ns: Number(process.hrtime.bigint() - start) };
  };

  // qd reads in flight on libuv's thread pool
  const runAsync = (len, random, max, qd) =>
    new Promise((resolve, reject) => {
      const start = process.hrtime.bigint();
      let submitted = 0;
      let done = 0;
      let more = true;
      let failed = false;
      const issue = (buf) => {
        const pos = nextPos(len, random);
        submitted++;
        read(fd, buf, 0, len, pos, (err, n) => {
          if (failed) return;
          try {
            if (err) throw err;
            check(buf, pos, n);
          } catch (e) {
            failed = true;
            reject(e);
            return;
          }
          done++;
          if (more) more = !stopAfter(start, max, submitted);
          if (more) issue(buf);
          else if (done === submitted) resolve({ count: done, ns: Number(process.hrtime.bigint() - start) });
        });
      };
      for (let i = 0; i < qd; i++) issue(Buffer.alloc(len));
    });

  const loads = [
    { name: 'rand4k_qd1', len: BLOCK, random: true, qd: 1 },
    { name: 'rand4k_qd32', len: BLOCK, random: true, qd: 32 },
    { name: 'seq64k_qd1', len: SEQ_LEN, random: false, qd: 1 },
  ];
  const results = [];
  log(`BENCH host start image=${image} size=${size} method=${method} threadpool=${process.env.UV_THREADPOOL_SIZE || 4}`);
  for (const w of loads) {
    const sync = (max) => Promise.resolve(runSync(w.len, w.random, max));
    const async = (max) => runAsync(w.len, w.random, max, w.qd);
    // QD1: one synchronous read at a time. QD32: the faster of 32 reads in
    // flight on the thread pool and the synchronous loop (on few CPUs the
    // pool's hand-offs can cost more than they overlap).
    const variants = w.qd === 1 ? [['sync', sync]] : [['async', async], ['sync', sync]];
    let best;
    for (const [how, go] of variants) {
      await go(64); // warm-up
      const r = await go(ops);
      log(`BENCH ${w.name}_${how} ops=${r.count} ns=${r.ns} bytes=${r.count * w.len}`);
      if (!best || r.count / r.ns > best.count / best.ns) best = { ...r, how };
    }
    results.push({ workload: w.name, ops: best.count, ns: best.ns, bytes: best.count * w.len, how: best.how });
    log(`BENCH ${w.name} ops=${best.count} ns=${best.ns} bytes=${best.count * w.len} how=${best.how}`);
  }
  log('BENCH DONE');
  closeSync(fd);
  return { method, results };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runHostBench(parseArgs(process.argv.slice(2))).catch((err) => {
    console.error(`host_pread: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
