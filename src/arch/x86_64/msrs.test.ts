import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootMsrs, MSR } from './msrs.js';

test('boot MSRs: numbers from the SDM, syscall MSRs zeroed, fast strings and WB MTRR default', () => {
  const msrs = new Map(bootMsrs().map((m) => [m.index, m.data]));
  assert.equal(msrs.size, bootMsrs().length, 'no MSR listed twice');
  assert.deepEqual(
    [MSR.IA32_SYSENTER_CS, MSR.IA32_SYSENTER_ESP, MSR.IA32_SYSENTER_EIP, MSR.STAR, MSR.LSTAR, MSR.CSTAR, MSR.SYSCALL_MASK, MSR.KERNEL_GS_BASE, MSR.IA32_TSC],
    [0x174, 0x175, 0x176, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000102, 0x10],
  );
  for (const idx of [MSR.IA32_SYSENTER_CS, MSR.STAR, MSR.LSTAR, MSR.CSTAR, MSR.SYSCALL_MASK, MSR.KERNEL_GS_BASE, MSR.IA32_TSC]) {
    assert.equal(msrs.get(idx), 0n, `0x${idx.toString(16)}`);
  }
  assert.equal(msrs.get(0x1a0), 1n, 'IA32_MISC_ENABLE.FAST_STRING');
  assert.equal(msrs.get(0x2ff), 0x806n, 'MTRRdefType: E | WB');
});
