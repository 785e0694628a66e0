// The library API (import { createVm } from 'tsvmm'): a Node program boots a
// test guest, talks to its console, pauses, resumes and stops it, and reads
// its counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVm, VmStartError, VmStateError } from '../../src/index.js';
import { kvmUnavailable, runTsvmm } from '../helpers/tsvmm.js';
import { guestDir } from '../helpers/guests.js';
import { ConsoleReader } from '../helpers/console_wait.js';

const skip = kvmUnavailable() ?? false;
const guest = (name: string): string => `${guestDir()}/${name}.elf`;
const dir = mkdtempSync(join(tmpdir(), 'tsvmm-lib-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('boot a guest from a script, type into its console and read the echo; pause holds it, resume lets it go on; stop ends it', { skip, timeout: 300_000 }, async () => {
  const vm = await createVm({ kernel: guest('echo'), memoryMiB: 64 });
  assert.equal(vm.state, 'running');
  const reader = new ConsoleReader(vm.console);
  await reader.waitFor(/READY/, 60_000);
  vm.console.write('abc');
  await reader.waitFor(/ABC/, 60_000);

  // The echo guest polls its UART: every poll is a port-I/O exit, so exits
  // grow while it runs and must not while it is paused.
  await vm.pause();
  assert.equal(vm.state, 'paused');
  const held = await vm.metrics();
  const before = reader.text.length;
  vm.console.write('xyz');
  await new Promise((r) => setTimeout(r, 2000));
  const still = await vm.metrics();
  assert.deepEqual(still.vcpus, held.vcpus, 'no vCPU exits while paused');
  assert.equal(reader.text.length, before, 'no console output while paused');

  await vm.resume();
  assert.equal(vm.state, 'running');
  await reader.waitFor(/XYZ/, 60_000, before);
  const after = await vm.metrics();
  assert.ok((after.vcpus[0]!['io'] ?? 0) > (held.vcpus[0]!['io'] ?? 0), 'exits resume');
  await assert.rejects(vm.resume(), VmStateError, 'resume of a running VM');

  const pid = vm.pid!;
  const ended = new Promise((resolve) => vm.console.on('end', resolve));
  const exit = await vm.stop();
  assert.equal(exit.code, 0);
  assert.equal(exit.signal, null);
  assert.equal(vm.state, 'stopped');
  await ended; // the console pipe was closed by the VMM's exit
  assert.equal(existsSync(`/proc/${pid}`), false, 'the VMM process is gone (reaped)');
  await assert.rejects(vm.pause(), VmStateError);
});

test('seccomp: true seals the VMM process: every thread is filtered while the guest runs, the console works, stop ends it with 0', { skip, timeout: 300_000 }, async () => {
  const vm = await createVm({ kernel: guest('echo'), memoryMiB: 64, seccomp: true });
  const reader = new ConsoleReader(vm.console);
  await reader.waitFor(/READY/, 60_000);
  vm.console.write('sealed');
  await reader.waitFor(/SEALED/, 60_000);
  const pid = vm.pid!;
  const tids = readdirSync(`/proc/${pid}/task`);
  assert.ok(tids.length > 1, 'the VMM has its threads');
  for (const tid of tids) {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    assert.match(status, /^Seccomp:\s+2$/m, `thread ${tid} runs under the filter`);
  }
  const exit = await vm.stop();
  assert.equal(exit.code, 0);
  assert.equal(exit.signal, null);
});

test('the counters move when the guest does I/O: a disk guest writes and reads, exits are counted by kind', { skip, timeout: 300_000 }, async () => {
  const image = join(dir, 'disk.img');
  writeFileSync(image, Buffer.alloc(64 * 512, 0x33));
  const vm = await createVm({ kernel: guest('blk'), memoryMiB: 64, disks: [{ path: image }], cmdline: 'blk.ring=split blk.irq=msix' });
  const reader = new ConsoleReader(vm.console);
  const exit = await vm.exited;
  assert.equal(exit.code, 0, reader.text);
  assert.match(reader.text, /BLK OK/);
  const m = exit.metrics!;
  assert.ok(m !== undefined, 'the VMM sent its last counters');
  const blk = m.devices['blk0']!;
  // blk.c writes sectors 1-4 in one request and sector 10 in another, then reads them back.
  assert.ok(blk['writes']! >= 2 && blk['reads']! >= 2, JSON.stringify(blk));
  assert.ok(blk['write_bytes']! >= 5 * 512 && blk['read_bytes']! >= 5 * 512, JSON.stringify(blk));
  assert.ok(blk['flushes']! >= 1 && blk['errors']! >= 1, `a flush, and the read past the end: ${JSON.stringify(blk)}`);
  assert.ok(blk['kicks']! > 0 && blk['interrupts']! > 0, JSON.stringify(blk));
  assert.ok((m.vcpus[0]!['io'] ?? 0) > 0 && (m.vcpus[0]!['mmio'] ?? 0) > 0, JSON.stringify(m.vcpus));
  assert.notDeepEqual(readFileSync(image), Buffer.alloc(64 * 512, 0x33), 'the guest wrote the disk');
});

test('a VM that cannot start rejects with the one line the CLI prints', { skip }, async () => {
  const missing = join(dir, 'no-such-kernel');
  const cli = await runTsvmm(['-k', missing]);
  const line = cli.stderr.trim().replace(/^tsvmm: /, '');
  await assert.rejects(createVm({ kernel: missing }), (e: unknown) => e instanceof VmStartError && e.message === line && e.code === cli.code);
});
