// aarch64 support arrives with its own issue (FDT, GIC, PSCI, PL011/8250 on
// MMIO). Until then an arm64 host gets one clear line instead of a crash.
import type { Arch } from '../arch.js';

class NotYetBuiltError extends Error {
  constructor() {
    super('aarch64 hosts are not supported yet (x86_64 only for now)');
    this.name = 'NotYetBuiltError';
  }
}

const fail = (): never => {
  throw new NotYetBuiltError();
};

export const aarch64: Arch = {
  name: 'aarch64',
  requiredCaps: {},
  consoleGsi: 0,
  ramRegions: fail,
  baseCmdline: fail,
  hostQuirk: () => undefined,
  setupVm: fail,
  prepareBoot: fail,
  loadKernel: fail,
  pciMmioWindow: { start: 0, end: 0 },
  pciIntxGsi: fail,
  defaultGsiRoutes: fail,
  firstMsiGsi: 0,
  attachPciBus: fail,
  setupVcpu: fail,
  createLegacyDevices: fail,
  describeVcpu: () => 'aarch64',
};
