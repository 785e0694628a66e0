// Builds the freestanding test guests (test/guests/build.sh) once per run.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ROOT } from './tsvmm.js';

let built: string | undefined;

/** Returns the folder with <guest>.elf files, building them if needed. */
export function guestDir(): string {
  if (built !== undefined) return built;
  const out = `${ROOT}test/guests/build`;
  execFileSync('bash', [`${ROOT}test/guests/build.sh`, out], { stdio: 'pipe' });
  if (!existsSync(`${out}/hello.elf`)) throw new Error('test/guests/build.sh produced no hello.elf');
  built = out;
  return out;
}
