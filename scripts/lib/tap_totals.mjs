// Shared by scripts/run-tests.mjs and scripts/run-arm64-tests.mjs: run a
// `node --test --test-reporter=tap` command (maybe inside a test host),
// echo its output, and add its "# pass N" / "# fail N" / "# skipped N"
// summary to running totals.

export function newTotals() {
  return { pass: 0, fail: 0, skipped: 0 };
}

/**
 * Runs `cmd args`, echoing stdout, and adds the summary it printed to
 * `totals`. A non-zero exit with no summary (the VM failed, a timeout) counts
 * as one failure. Resolves to the exit code.
 */
export function runCounting(spawn, cmd, args, totals) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      tail = (tail + d.toString()).slice(-4096);
    });
    child.on('error', (err) => {
      console.error(`${cmd}: ${err.message}`);
    });
    child.on('close', (code) => {
      let counted = false;
      for (const key of Object.keys(totals)) {
        // \r: a test host's serial console may end lines with CRLF.
        const m = new RegExp(`^# ${key} (\\d+)\\r?$`, 'm').exec(tail);
        if (m) {
          totals[key] += Number(m[1]);
          counted = true;
        }
      }
      if (code !== 0 && !counted) totals.fail += 1;
      resolve(code ?? 1);
    });
  });
}

export function totalsLine(totals) {
  return `${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`;
}
