// The freestanding test guests (test/guests/build.sh), built when missing or
// older than their sources. Every test file runs in its own process and asks
// for them; rebuilding each time cost 1-2 minutes per file in the test host,
// where gcc itself runs under emulation.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { ROOT } from './tsvmm.js';

let built: string | undefined;

/** The guest names build.sh builds (its GUESTS=(...) line). */
function guestNames(buildSh: string): string[] {
  const m = /^GUESTS=\(([^)]*)\)/m.exec(readFileSync(buildSh, 'utf8'));
  if (!m) throw new Error(`${buildSh} has no GUESTS=(...) line`);
  return m[1]!.trim().split(/\s+/);
}

/** True when every guest's .elf exists and is newer than every source (test/guests/*, bench/netframe.h). */
export function guestsUpToDate(srcDir: string, out: string, extraSources: string[] = []): boolean {
  const elfs = guestNames(`${srcDir}/build.sh`).map((g) => `${out}/${g}.elf`);
  if (!elfs.every((e) => existsSync(e))) return false;
  const sources = readdirSync(srcDir)
    .filter((f) => /\.(c|h|S|ld|sh)$/.test(f))
    .map((f) => `${srcDir}/${f}`)
    .concat(extraSources.filter((f) => existsSync(f)));
  const newestSource = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  const oldestElf = Math.min(...elfs.map((e) => statSync(e).mtimeMs));
  return oldestElf >= newestSource;
}

/**
 * Builds the guests (all of them: build.sh builds the set) when any is
 * missing or stale, calling `onBuild` first; returns the folder with the
 * <guest>.elf files. The benchmarks (bench/common.ts) use it too.
 */
export function buildGuestsIfStale(onBuild: () => void = () => undefined): string {
  const src = `${ROOT}test/guests`;
  const out = `${src}/build`;
  if (!guestsUpToDate(src, out, [`${ROOT}bench/netframe.h`])) {
    onBuild();
    execFileSync('bash', [`${src}/build.sh`, out], { stdio: 'pipe' });
  }
  if (!existsSync(`${out}/hello.elf`)) throw new Error('test/guests/build.sh produced no hello.elf');
  return out;
}

/** Returns the folder with <guest>.elf files, building them if needed (once per process). */
export function guestDir(): string {
  built ??= buildGuestsIfStale();
  return built;
}
