// Seals the running VMM with the seccomp allowlist (--seccomp). Called once,
// after every file is open, every worker thread is up and stdin is being
// read, and before the guest runs. TSYNC puts every existing thread under
// the filter; the install refuses to return unless all of them are.
import type { ArchName } from '../arch/arch.js';
import { KVM_IOCTL, TTY_IOCTL, TUN_IOCTL } from '../kvm/generated/uapi.js';
import { buildSeccompProgram, installSeccomp } from '../sandbox/index.js';
import type { VmmHost } from './vmm.js';

/**
 * The ioctl requests the running VMM makes, most frequent first (the filter
 * checks them in order): the vCPU loop, interrupt and ioeventfd plumbing that
 * changes as the guest programs MSI-X and BARs, state reads for a failure
 * line, the terminal requests Node and the supervisor make, and TAP set-up.
 */
export const RUNTIME_IOCTLS: readonly number[] = [
  KVM_IOCTL.RUN,
  KVM_IOCTL.IRQ_LINE,
  KVM_IOCTL.IRQFD,
  KVM_IOCTL.SET_GSI_ROUTING,
  KVM_IOCTL.IOEVENTFD,
  KVM_IOCTL.SIGNAL_MSI,
  KVM_IOCTL.GET_REGS,
  KVM_IOCTL.GET_SREGS,
  KVM_IOCTL.GET_ONE_REG,
  TTY_IOCTL.TCGETS,
  TTY_IOCTL.TCSETS,
  TTY_IOCTL.TCSETSW,
  TTY_IOCTL.TIOCGWINSZ,
  TTY_IOCTL.FIONBIO,
  TTY_IOCTL.FIONREAD,
  TUN_IOCTL.TUNSETOFFLOAD,
  TUN_IOCTL.TUNSETVNETHDRSZ,
];

export function sealProcess(arch: ArchName, mode: 'kill' | 'log', host: VmmHost): void {
  const program = buildSeccompProgram(arch, { ioctls: RUNTIME_IOCTLS, mode });
  installSeccomp(program.bytes);
  host.log(`seccomp: ${mode === 'log' ? 'logging (not enforcing)' : 'enforcing'} a ${program.instructions}-instruction ${arch} allowlist on every thread`);
}
