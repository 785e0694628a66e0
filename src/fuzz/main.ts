// The fuzz soak: `npm run fuzz -- [--runs N] [--seed S] [--target TEXT]`.
// Runs every target (or those whose name contains TEXT) N times from seed S
// (default: a fresh seed, printed), prints runs and time per target, and
// exits 1 with fast-check's report (counterexample, seed, path) on the first
// broken invariant of each failing target. Replay one with the same seed.
import { parseArgs } from 'node:util';
import { runTarget } from './target.js';
import { ALL_TARGETS } from './targets.js';

const USAGE = 'usage: npm run fuzz -- [--runs N] [--seed S] [--target TEXT]';
/** Runs per target when --runs is not given. */
const DEFAULT_RUNS = 2000;

function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { runs: { type: 'string' }, seed: { type: 'string' }, target: { type: 'string' } } }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const runs = values.runs === undefined ? DEFAULT_RUNS : Number(values.runs);
  const seed = values.seed === undefined ? (Date.now() ^ (process.pid << 16)) | 0 : Number(values.seed);
  if (!Number.isSafeInteger(runs) || runs < 1) return usage(`--runs ${values.runs}: not a positive integer`);
  if (!Number.isInteger(seed) || seed < -(2 ** 31) || seed >= 2 ** 31) return usage(`--seed ${values.seed}: not a 32-bit integer`);
  const targets = ALL_TARGETS.filter((t) => values.target === undefined || t.name.includes(values.target));
  if (targets.length === 0) return usage(`--target ${values.target}: no target name contains it`);

  process.stdout.write(`fuzz: ${targets.length} targets, ${runs} runs each, seed ${seed}\n`);
  const width = Math.max(...targets.map((t) => t.name.length));
  let failed = 0;
  let totalMs = 0;
  let totalRuns = 0;
  for (const target of targets) {
    const r = runTarget(target, { runs, seed });
    totalMs += r.ms;
    totalRuns += r.runs;
    const status = r.failure === undefined ? 'ok  ' : 'FAIL';
    process.stdout.write(`${status} ${target.name.padEnd(width)}  ${String(r.runs).padStart(7)} runs  ${(r.ms / 1000).toFixed(2).padStart(7)} s\n`);
    if (r.failure !== undefined) {
      failed++;
      process.stdout.write(`${r.failure}\n`);
    }
  }
  process.stdout.write(`total: ${totalRuns} runs in ${(totalMs / 1000).toFixed(1)} s, ${failed} of ${targets.length} targets failed (seed ${seed})\n`);
  return failed === 0 ? 0 : 1;
}

function usage(problem: string): number {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
