// The library API (see vm.ts) and its errors.
export { createVm, Vm, type VmEvents } from './vm.js';
export type { VmOptions } from './options.js';
export type { VmExit, VmState } from './process.js';
export type { VmMetrics } from '../vmm/ipc.js';
export { VmError, VmOptionsError, VmStartError, VmStateError } from './errors.js';
