// The seccomp sandbox (--seccomp): build the host's policy, install it on
// every thread. See program.ts for the program, policy/ for the allowlists,
// install.ts for the install order and its three-way result.

import { installSeccomp } from './install.js';
import { buildSeccompProgram, hostSeccompArch, type SeccompProgram, type SeccompProgramOptions } from './program.js';

export { installSeccomp, SeccompInstallError } from './install.js';
export { buildPolicyProgram, buildSeccompProgram, hostSeccompArch, policyFor, SeccompPolicyError } from './program.js';
export { apiPolicyFor } from './policy/api.js';
export type { SeccompArch, SeccompMode, SeccompProgram, SeccompProgramOptions } from './program.js';

/**
 * Builds the policy for this machine and installs it on all threads. Call it
 * once, after all set-up and before the terminal goes raw and the vCPUs run.
 * Throws SeccompInstallError (or SeccompPolicyError) instead of running
 * unfiltered.
 */
export function applySeccomp(opts: SeccompProgramOptions): SeccompProgram {
  const program = buildSeccompProgram(hostSeccompArch(), opts);
  installSeccomp(program.bytes);
  return program;
}
