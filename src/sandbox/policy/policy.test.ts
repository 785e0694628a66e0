import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { POLICY_AARCH64, SYSCALLS_AARCH64 } from './aarch64.js';
import { API_POLICY_AARCH64, API_POLICY_X86_64 } from './api.js';
import { POLICY_X86_64, SYSCALLS_X86_64 } from './x86_64.js';
import type { ArchPolicy } from './types.js';

const X86_64_HEADER = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
const GENERIC_HEADER = '/usr/include/asm-generic/unistd.h';

/**
 * `#define __NR_<name> <value>` lines; in the generic header a value may be
 * an `__NR3264_<name>` alias, resolved through its own define.
 */
function parseUnistd(text: string): Map<string, number> {
  const raw = new Map<string, string>();
  for (const m of text.matchAll(/^#define\s+(__NR(?:3264)?_\w+)\s+(\S+)/gm)) {
    if (!raw.has(m[1] as string)) raw.set(m[1] as string, m[2] as string);
  }
  const out = new Map<string, number>();
  for (const [key, value] of raw) {
    if (!key.startsWith('__NR_')) continue;
    const resolved = /^\d+$/.test(value) ? value : raw.get(value);
    if (resolved !== undefined && /^\d+$/.test(resolved)) out.set(key.slice('__NR_'.length), Number(resolved));
  }
  return out;
}

function compare(table: Readonly<Record<string, number>>, header: string): void {
  const defs = parseUnistd(readFileSync(header, 'utf8'));
  assert.ok(defs.size > 250, `parsed only ${defs.size} numbers from ${header}`);
  for (const [name, nr] of Object.entries(table)) assert.equal(nr, defs.get(name), `${name} in ${header}`);
}

test('x86_64 numbers match the installed unistd_64.h', { skip: !existsSync(X86_64_HEADER) && 'no x86_64 header' }, () => {
  compare(SYSCALLS_X86_64, X86_64_HEADER);
});

test('aarch64 numbers match the generic unistd.h (64-bit branch)', { skip: !existsSync(GENERIC_HEADER) && 'no asm-generic header' }, () => {
  compare(SYSCALLS_AARCH64, GENERIC_HEADER);
});

for (const [which, policy] of [
  ['VMM', POLICY_X86_64],
  ['VMM', POLICY_AARCH64],
  ['API', API_POLICY_X86_64],
  ['API', API_POLICY_AARCH64],
] as Array<[string, ArchPolicy]>) {
  test(`${which} ${policy.arch}: entries are unique, explained, and their rules are well formed`, () => {
    const names = policy.allow.map((e) => e.name);
    assert.equal(new Set(names).size, names.length, 'duplicate entry');
    const table = policy.syscalls as Record<string, number>;
    const numbers = Object.values(table);
    assert.equal(new Set(numbers).size, numbers.length, 'two names share a number');
    for (const e of policy.allow) {
      assert.ok(e.reason.length >= 20, `${e.name} needs a reason`);
      assert.equal(typeof table[e.name], 'number', `${e.name} has no number`);
      const rule = e.rule;
      if (rule !== undefined && rule.kind === 'argsIn') {
        assert.ok(rule.args.length > 0, `${e.name}: an argsIn rule checks something`);
        for (const c of rule.args) assert.ok(c.arg >= 0 && c.arg <= 5 && c.values.length > 0, `${e.name} argument ${c.arg}`);
      } else if (rule !== undefined && rule.kind !== 'ioctlRequest' && rule.kind !== 'errno') {
        assert.ok(rule.arg >= 0 && rule.arg <= 5);
      }
    }
  });
}

test('tkill is not allowed; tgkill and rt_sigtimedwait are, on both architectures', () => {
  for (const policy of [POLICY_X86_64, POLICY_AARCH64] as ArchPolicy[]) {
    const names = policy.allow.map((e) => e.name);
    assert.ok(!names.includes('tkill'), `${policy.arch}: tkill`);
    assert.ok(names.includes('tgkill') && names.includes('rt_sigtimedwait'), policy.arch);
    assert.match(policy.allow.find((e) => e.name === 'rt_sigtimedwait')!.reason, /vcpu\/kick\.ts: a vCPU thread takes its pending kick signal/);
  }
});

test('both architectures allow the same calls apart from the poll variant', () => {
  const x = new Set(POLICY_X86_64.allow.map((e) => e.name as string));
  const a = new Set(POLICY_AARCH64.allow.map((e) => e.name as string));
  assert.deepEqual([...x].filter((n) => !a.has(n)).sort(), ['poll']);
  assert.deepEqual([...a].filter((n) => !x.has(n)).sort(), ['ppoll']);
});

test('API policy: both architectures allow the same calls apart from unlink/fstat variants', () => {
  const x = new Set(API_POLICY_X86_64.allow.map((e) => e.name as string));
  const a = new Set(API_POLICY_AARCH64.allow.map((e) => e.name as string));
  assert.deepEqual([...x].filter((n) => !a.has(n)).sort(), ['unlink']);
  assert.deepEqual([...a].filter((n) => !x.has(n)).sort(), ['newfstatat', 'unlinkat']);
});

test('API policy: nothing the supervisor has no use for after its seal', () => {
  for (const policy of [API_POLICY_X86_64, API_POLICY_AARCH64] as ArchPolicy[]) {
    const names = new Set(policy.allow.map((e) => e.name as string));
    for (const n of ['socket', 'bind', 'listen', 'connect', 'clone', 'clone3', 'execve', 'preadv', 'pwritev', 'fallocate', 'poll', 'ppoll', 'sendmsg']) {
      assert.equal(names.has(n), false, `${policy.arch} allows ${n}`);
    }
  }
});
