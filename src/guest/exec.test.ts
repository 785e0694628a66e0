import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, hasCommand, run, runLogged } from './exec.js';

test('run: stdout on success; CommandError with the stderr tail on failure', () => {
  assert.equal(run('sh', ['-c', 'echo out; echo err >&2']), 'out\n');
  assert.throws(
    () => run('sh', ['-c', 'echo boom >&2; exit 3']),
    (e: unknown) => e instanceof CommandError && /exited with 3:\nboom$/.test(e.message),
  );
  assert.throws(() => run('/nonexistent/tool', []), (e: unknown) => e instanceof CommandError && /ENOENT/.test(e.message));
});

test('hasCommand: finds sh, not a made-up name', () => {
  assert.equal(hasCommand('sh'), true);
  assert.equal(hasCommand('tsvmm-no-such-command'), false);
});

test('runLogged: output goes to the log, lines to onLine; failure quotes the log tail', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-exec-'));
  try {
    const logPath = join(dir, 'log');
    const lines: string[] = [];
    await runLogged('sh', ['-c', 'echo "  CC a.o"; echo "  CC b.o" >&2'], { logPath, onLine: (l) => lines.push(l) });
    assert.deepEqual(lines.sort(), ['  CC a.o', '  CC b.o']);
    assert.match(readFileSync(logPath, 'utf8'), /CC a\.o/);
    await assert.rejects(runLogged('sh', ['-c', 'echo "make: *** [x] Error 1"; exit 2'], { logPath }), (e: unknown) => {
      return e instanceof CommandError && /failed \(2\); last lines of .*\nmake: \*\*\* \[x\] Error 1$/.test(e.message);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
