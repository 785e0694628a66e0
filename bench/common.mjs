// What bench/blk.mjs and bench/net.mjs share: building their guest, running
// a child whose progress lines are echoed, and facts about the CPU.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const GUEST_DIR = join(ROOT, 'test', 'guests');

/** Builds the test guests when `elf` is missing or older than its sources (and `extraSources`). */
export function ensureGuestBuilt(elf, mainSource, extraSources = [], say = (m) => process.stderr.write(`${m}\n`)) {
  const sources = [mainSource, 'virtio.c', 'virtio.h', 'lib.c', 'lib.h', 'start.S', 'guest.ld', 'build.sh'].map((f) => join(GUEST_DIR, f));
  sources.push(...extraSources);
  const built = existsSync(elf) ? statSync(elf).mtimeMs : 0;
  if (built && sources.every((f) => !existsSync(f) || statSync(f).mtimeMs <= built)) return;
  say('building the test guests (test/guests/build.sh)');
  const r = spawnSync('bash', [join(GUEST_DIR, 'build.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('test/guests/build.sh failed');
}

/** Runs a child, collecting stdout; its lines (but BENCHJSON ones) are echoed on stderr as progress. */
export function runCapture(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let pending = '';
    child.stdout.on('data', (d) => {
      out += d.toString();
      pending += d.toString();
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        if (!line.startsWith('BENCHJSON ')) process.stderr.write(`  | ${line}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The TSC frequency: dmesg's calibration, else /proc/cpuinfo's cpu MHz. */
export function detectTscHz() {
  const d = spawnSync('dmesg', [], { encoding: 'utf8' });
  if (d.status === 0) {
    const refined = /tsc: Refined TSC clocksource calibration: ([\d.]+) MHz/.exec(d.stdout);
    if (refined) return { hz: Math.round(Number(refined[1]) * 1e6), source: 'dmesg, refined TSC calibration' };
    const detected = /tsc: Detected ([\d.]+) MHz processor/.exec(d.stdout);
    if (detected) return { hz: Math.round(Number(detected[1]) * 1e6), source: 'dmesg, detected TSC' };
  }
  const m = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  if (m) return { hz: Math.round(Number(m[1]) * 1e6), source: '/proc/cpuinfo cpu MHz' };
  throw new Error('cannot find the TSC frequency: pass --tsc-hz');
}

export function cpuName() {
  const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m ? m[1].trim() : 'unknown CPU';
}
