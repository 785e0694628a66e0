// Compiles scripts/uapi-check.c against this host's kernel headers and checks
// every constant transcribed into src/kvm/generated/ against what it prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KVM_CAP, KVM_EXIT, KVM_IOCTL, KVM_IRQFD_FLAG, KVM_IOEVENTFD_FLAG, KVM_IRQ_ROUTING, KVM_SYSTEM_EVENT, TTY_IOCTL, TUN_IOCTL } from './generated/uapi.js';
import { KVM_RUN_OFFSET } from './generated/kvm_run.js';

function hostValues(): Map<string, number> | string {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-uapi-'));
  try {
    const exe = join(dir, 'uapi-check');
    try {
      execFileSync('cc', ['-o', exe, 'scripts/uapi-check.c'], { stdio: 'pipe' });
    } catch (err) {
      return `cannot compile scripts/uapi-check.c (no C compiler or kernel headers): ${(err as Error).message.split('\n')[0]}`;
    }
    const out = execFileSync(exe, { encoding: 'utf8' });
    const m = new Map<string, number>();
    for (const line of out.split('\n')) {
      const match = /^\s*(\S+): (0x[0-9a-f]+|\d+),$/.exec(line);
      if (match) m.set(match[1]!, Number(match[2]));
    }
    return m;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const values = hostValues();

function check(prefix: string, table: Record<string, number>, rename: (k: string) => string = (k) => prefix + k): void {
  if (typeof values === 'string') return;
  let compared = 0;
  for (const [k, v] of Object.entries(table)) {
    const hostName = rename(k);
    const host = values.get(hostName);
    if (host === undefined) continue; // not printed by the checker (e.g. arm64-only)
    assert.equal(v, host, `${hostName}: ours 0x${v.toString(16)}, headers 0x${host.toString(16)}`);
    compared++;
  }
  assert.ok(compared > 0, `no ${prefix} constants were compared`);
}

test('KVM ioctl numbers match <linux/kvm.h>', { skip: typeof values === 'string' ? values : false }, () => {
  check('KVM_', KVM_IOCTL);
  check('KVM_CAP_', KVM_CAP);
  check('KVM_EXIT_', KVM_EXIT);
  check('KVM_SYSTEM_EVENT_', KVM_SYSTEM_EVENT);
  check('KVM_IRQFD_FLAG_', KVM_IRQFD_FLAG);
  check('KVM_IOEVENTFD_FLAG_', KVM_IOEVENTFD_FLAG);
  check('KVM_IRQ_ROUTING_', KVM_IRQ_ROUTING);
});

test('TUN and terminal ioctl numbers match the headers', { skip: typeof values === 'string' ? values : false }, () => {
  check('', TUN_IOCTL);
  check('', TTY_IOCTL);
});

test('struct kvm_run offsets match <linux/kvm.h>', { skip: typeof values === 'string' ? values : false }, () => {
  check('kvm_run_', KVM_RUN_OFFSET, (k) => {
    const special: Record<string, string> = {
      fail_entry_reason: 'kvm_run_fail_entry.hardware_entry_failure_reason',
      emulation_flags: 'kvm_run_internal.data',
    };
    if (special[k]) return special[k]!;
    const i = k.indexOf('_');
    return `kvm_run_${k.slice(0, i)}.${k.slice(i + 1)}`.replace('kvm_run_immediate.exit', 'kvm_run_immediate_exit').replace('kvm_run_exit.reason', 'kvm_run_exit_reason').replace('kvm_run_system.event_', 'kvm_run_system_event.');
  });
});
