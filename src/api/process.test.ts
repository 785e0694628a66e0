import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vmmChildEnv } from './process.js';

test('the VMM process runs with UV_USE_IO_URING=0 whatever the caller set, and finds its parent and its log fd', () => {
  for (const user of ['1', '0', undefined]) {
    const env = vmmChildEnv({ PATH: '/usr/bin', UV_USE_IO_URING: user, TSVMM_KVM_DEVICE: '/dev/kvm2' }, 4321);
    assert.equal(env['UV_USE_IO_URING'], '0', `caller's UV_USE_IO_URING=${user}`);
    assert.equal(env['TSVMM_PARENT_PID'], '4321');
    assert.equal(env['TSVMM_LOG_FD'], '4', "tsvmm's lines: the fd after the IPC channel");
    assert.equal(env['PATH'], '/usr/bin', "the rest of the caller's environment is kept");
    assert.equal(env['TSVMM_KVM_DEVICE'], '/dev/kvm2');
  }
});
