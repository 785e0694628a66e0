import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostArch, hostArchName, loadArch, loadMachineArch, UnsupportedHostError } from './index.js';

test('the host architecture by Node name; others are refused with UnsupportedHostError', async () => {
  assert.equal(hostArchName('x64'), 'x86_64');
  assert.equal(hostArchName('arm64'), 'aarch64');
  assert.throws(() => hostArchName('ia32'), UnsupportedHostError);
  assert.equal((await hostArch('x64')).name, 'x86_64');
});

for (const name of ['x86_64', 'aarch64'] as const) {
  test(`${name}: the machine part the vCPU worker loads alone is the one the whole Arch carries`, async () => {
    const arch = await loadArch(name);
    const machine = await loadMachineArch(name);
    assert.equal(arch.name, name);
    assert.equal(machine.name, name);
    assert.equal(machine.firstMsiGsi, arch.firstMsiGsi);
    assert.deepEqual(machine.defaultGsiRoutes(), arch.defaultGsiRoutes());
    if (name === 'x86_64') {
      // One object's functions, spread into the whole Arch.
      assert.equal(machine.createLegacyDevices, arch.createLegacyDevices);
      assert.equal(machine.attachPciBus, arch.attachPciBus);
    }
  });
}
