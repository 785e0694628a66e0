// Runs fuzz targets as node:test cases with a fixed seed, so the unit tests
// are reproducible; `npm run fuzz` (main.ts) explores other seeds.
import { test } from 'node:test';
import { runTarget, type FuzzTarget } from './target.js';

/** The seed of every fuzz target in the unit tests. */
export const FUZZ_TEST_SEED = 0x5eed;

export function fuzzTests(targets: readonly FuzzTarget[]): void {
  for (const target of targets) {
    test(`fuzz: ${target.name} (${target.testRuns} runs, seed ${FUZZ_TEST_SEED})`, () => {
      const result = runTarget(target, { runs: target.testRuns, seed: FUZZ_TEST_SEED });
      if (result.failure !== undefined) throw new Error(result.failure);
    });
  }
}
