// Kernel .config text: parse it, and check that a config fragment's requests
// all came out in the final .config.
//
// Source: scripts/kconfig/confdata.c (conf_read_simple / conf_write). Lines are
//   CONFIG_NAME=value          (y, m, a number, or a "quoted string")
//   # CONFIG_NAME is not set   (the symbol is n)
// anything else starting with '#' is a comment. A symbol missing from .config
// is n too: Kconfig writes no line for a symbol whose dependencies are off.
//
// scripts/kconfig/merge_config.sh only warns when a requested value did not
// stick (a dependency was off, a typo, a symbol that does not exist in this
// kernel version); the guest build turns those warnings into an error.
import { TsvmmError } from '../base/errors.js';

/** The value Kconfig records for a symbol that is off. */
export const KCONFIG_NO = 'n';

const SET = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const NOT_SET = /^# CONFIG_([A-Za-z0-9_]+) is not set$/;

/** A line that is neither a setting, a "not set" line, a comment nor blank. */
export class KconfigSyntaxError extends TsvmmError {
  constructor(
    readonly line: number,
    readonly text: string,
  ) {
    super(`config line ${line} is not "CONFIG_X=value" or "# CONFIG_X is not set": ${JSON.stringify(text)}`);
  }
}

/** One requested value that the final .config does not have. */
export interface KconfigMismatch {
  /** Symbol name without the CONFIG_ prefix. */
  readonly symbol: string;
  readonly wanted: string;
  /** 'n' when the symbol is absent or not set. */
  readonly actual: string;
}

/** Parses .config or fragment text: symbol (without CONFIG_) -> value ('n' for "is not set"). */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const set = SET.exec(line);
    if (set !== null) {
      out.set(set[1]!, set[2]!);
      continue;
    }
    const notSet = NOT_SET.exec(line);
    if (notSet !== null) {
      out.set(notSet[1]!, KCONFIG_NO);
      continue;
    }
    if (line.startsWith('#')) continue;
    throw new KconfigSyntaxError(i + 1, lines[i]!);
  }
  return out;
}

/** Every request of `fragment` that `config` does not satisfy, in fragment order. */
export function kconfigMismatches(fragment: ReadonlyMap<string, string>, config: ReadonlyMap<string, string>): KconfigMismatch[] {
  const out: KconfigMismatch[] = [];
  for (const [symbol, wanted] of fragment) {
    const actual = config.get(symbol) ?? KCONFIG_NO;
    if (actual !== wanted) out.push({ symbol, wanted, actual });
  }
  return out;
}

/** "CONFIG_X: wanted y, got n" lines for an error message. */
export function formatMismatches(m: readonly KconfigMismatch[]): string {
  return m.map((x) => `CONFIG_${x.symbol}: wanted ${x.wanted}, got ${x.actual}`).join('\n');
}
