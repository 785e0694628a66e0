import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GsiRoute } from './vm.js';
import { GsiRouter } from './gsi_router.js';

test('keeps the default routes and adds, updates and removes MSI routes', () => {
  const applied: GsiRoute[][] = [];
  const defaults: GsiRoute[] = [{ gsi: 4, kind: 'irqchip', irqchip: 2, pin: 4 }];
  const r = new GsiRouter({ setGsiRouting: (t) => applied.push([...t]) }, defaults, 24);
  const first = r.allocate(3);
  assert.equal(first, 24);
  assert.equal(r.allocate(1), 27, 'allocations do not overlap');
  r.setMsi(25, 0xfee00000, 0, 0x41);
  r.setMsi(25, 0xfee00000, 0, 0x42);
  assert.equal(applied.length, 2);
  assert.deepEqual(applied[1], [defaults[0], { gsi: 25, kind: 'msi', addressLo: 0xfee00000, addressHi: 0, data: 0x42 }]);
  r.removeMsi(25);
  assert.deepEqual(applied[2], defaults);
  r.removeMsi(25);
  assert.equal(applied.length, 3, 'removing an absent route does not reapply');
});
