// Boots the freestanding test guests (test/guests/) under KVM through the
// real CLI and checks what they print and how the VMM exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { runTsvmm, kvmUnavailable, TSVMM } from '../helpers/tsvmm.js';
import { guestDir } from '../helpers/guests.js';

const skip = kvmUnavailable() ?? false;
if (skip) console.log(`# ${skip}`);

const guest = (name: string): string => `${guestDir()}/${name}.elf`;

test('hello: CPL3 output through the UART, the command line from the zero page, reboot exits 0', { skip }, async () => {
  const r = await runTsvmm(['-k', guest('hello'), '-m', '64M', '--append', 'tsvmm.marker=42'], { timeoutMs: 60000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /hello from CPL3/);
  assert.match(r.stdout, /cmdline: console=ttyS0 .*tsvmm\.marker=42/);
  assert.match(r.stdout, /DONE/);
  assert.doesNotMatch(r.stdout, /FAIL:/);
});

test('echo: input from a pipe reaches the guest and comes back', { skip }, async () => {
  const r = await runTsvmm(['-k', guest('echo'), '-m', '64M'], { input: 'hello, vmm\nq', timeoutMs: 60000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /READY/);
  assert.match(r.stdout, /HELLO, VMM/);
  assert.match(r.stdout, /BYE/);
});

test('a VMM whose supervisor is killed with SIGKILL does not outlive it', { skip }, async () => {
  const sup = spawn(process.execPath, [TSVMM, '-k', guest('echo'), '-m', '64M'], { stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    // echo waits for input forever: READY means the VMM child is running the guest.
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`no READY within 60 s: ${out}`)), 60000);
      sup.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('READY')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const children = readFileSync(`/proc/${sup.pid}/task/${sup.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    assert.equal(children.length, 1, `the supervisor has one child, the VMM: ${children.join(' ')}`);
    const vmm = children[0]!;
    assert.ok(existsSync(`/proc/${vmm}`));
    sup.kill('SIGKILL');
    const deadline = Date.now() + 10000;
    // A zombie until its (dead) parent's reaper collects it: gone or state Z both mean it stopped.
    const alive = (): boolean => {
      try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${vmm}/status`, 'utf8'));
      } catch {
        return false; // gone
      }
    };
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(), false, 'the VMM child ended within 10 s of its supervisor');
  } finally {
    sup.kill('SIGKILL');
  }
});

test('thre_irq: transmit driven by THRE interrupts through the in-kernel IOAPIC', { skip }, async () => {
  const r = await runTsvmm(['-k', guest('thre_irq'), '-m', '64M'], { timeoutMs: 120000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /IRQ-DRIVEN TX OK!/);
  const m = /THRE interrupts: (\d+)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Number(m[1]) >= 18, `at least one THRE interrupt per character, got ${m[1]}`);
  assert.doesNotMatch(r.stdout, /FAIL:/);
});

test('unknown_io: unclaimed ports and MMIO read as all ones and the guest keeps running', { skip }, async () => {
  const r = await runTsvmm(['-k', guest('unknown_io'), '-m', '64M'], { timeoutMs: 60000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /STILL ALIVE/);
  assert.doesNotMatch(r.stdout, /FAIL:/);
});

test('reboot through the i8042 ends the VMM with exit code 0', { skip }, async () => {
  const r = await runTsvmm(['-k', guest('reboot'), '-m', '64M'], { timeoutMs: 60000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /rebooting/);
});

test('a triple fault ends the VMM with exit code 0 (KVM_EXIT_SHUTDOWN)', { skip }, async () => {
  const r = await runTsvmm(['-k', guest('triple_fault'), '-m', '64M'], { timeoutMs: 60000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /triple_fault: empty IDT \+ ud2/);
});
