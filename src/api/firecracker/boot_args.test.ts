import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropPciOff, splitCmdline } from './boot_args.js';

test('pci=off is dropped with a notice; the other arguments keep their order', () => {
  const r = dropPciOff('console=ttyS0 reboot=k panic=1 pci=off nomodules');
  assert.equal(r.args, 'console=ttyS0 reboot=k panic=1 nomodules');
  assert.match(r.notice ?? '', /^boot_args: dropped pci=off: .*PCI/);
  assert.ok(!(r.notice ?? '').includes('\n'));
});

test('arguments without pci=off come back unchanged and without a notice', () => {
  const text = 'console=ttyS0  quiet pci=noacpi';
  assert.deepEqual(dropPciOff(text), { args: text, notice: undefined });
  assert.deepEqual(dropPciOff('  '), { args: undefined, notice: undefined });
});

test('off is removed from a pci= list; a lone pci=off leaves nothing', () => {
  assert.equal(dropPciOff('pci=off,noacpi quiet').args, 'pci=noacpi quiet');
  assert.deepEqual(dropPciOff('pci=off'), { args: undefined, notice: dropPciOff('pci=off').notice });
  assert.notEqual(dropPciOff('pci=off').notice, undefined);
});

test('quoted values stay whole, as the kernel splits them', () => {
  assert.deepEqual(splitCmdline('a="x y" pci=off  b'), ['a="x y"', 'pci=off', 'b']);
  assert.equal(dropPciOff('init=/bin/sh dyndbg="file x.c +p" pci=off').args, 'init=/bin/sh dyndbg="file x.c +p"');
});
