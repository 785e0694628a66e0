// What a fuzz target is, and how one is run: the same definition serves the
// unit tests (a fixed seed, a small budget of runs: see runner.fixture.ts) and the
// soak (`npm run fuzz`, main.ts: any seed, any number of runs).
//
// A target is a fast-check property over generated guest input. Its
// predicate throws (node:assert) when an invariant breaks; fast-check then
// shrinks the input to a small counterexample and reports it with the seed
// and path that replay it.
import fc from 'fast-check';

export interface FuzzTarget {
  /** Short and unique: "virtio split ring (hostile driver)". */
  readonly name: string;
  /** Runs inside the unit tests: the whole fuzz set must stay within a few seconds. */
  readonly testRuns: number;
  /** A fresh property (fast-check properties keep no state between checks, but stay cheap to rebuild). */
  property(): fc.IProperty<[unknown]>;
}

/** A target from one arbitrary and one predicate (which throws on a broken invariant). */
export function fuzzTarget<T>(name: string, testRuns: number, arbitrary: fc.Arbitrary<T>, predicate: (input: T) => void): FuzzTarget {
  return {
    name,
    testRuns,
    property: () => fc.property(arbitrary, (input) => predicate(input)) as unknown as fc.IProperty<[unknown]>,
  };
}

export interface FuzzRunOptions {
  readonly runs: number;
  readonly seed: number;
}

export interface FuzzResult {
  readonly name: string;
  /** Inputs tried (up to the failure, if any). */
  readonly runs: number;
  readonly ms: number;
  /** fast-check's report (counterexample, seed, path), when an invariant broke. */
  readonly failure: string | undefined;
}

/** Runs one target; never throws for a property failure (see `failure`). */
export function runTarget(target: FuzzTarget, options: FuzzRunOptions): FuzzResult {
  const start = process.hrtime.bigint();
  const details = fc.check(target.property(), { numRuns: options.runs, seed: options.seed });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  let failure: string | undefined;
  if (details.failed) {
    const err = details.errorInstance;
    const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    failure = `${target.name}: ${why}\n${fc.defaultReportMessage(details) ?? ''}`;
  }
  return { name: target.name, runs: details.numRuns, ms, failure };
}
