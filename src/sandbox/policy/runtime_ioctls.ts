// The ioctl requests the running VMM makes, most frequent first (the filter
// checks them in order): the vCPU loop, interrupt and ioeventfd plumbing that
// changes as the guest programs MSI-X and BARs, state reads for a failure
// line, the terminal requests Node and the supervisor make, and TAP set-up
// (at DRIVER_OK, after the seal).
import { KVM_IOCTL, TTY_IOCTL, TUN_IOCTL } from '../../kvm/generated/uapi.js';

/** The terminal requests Node, libuv and the supervisor make on the console (raw mode, window size, stdio set-up). */
export const TERMINAL_IOCTLS: readonly number[] = [
  TTY_IOCTL.TCGETS,
  TTY_IOCTL.TCSETS,
  TTY_IOCTL.TCSETSW,
  TTY_IOCTL.TIOCGWINSZ,
  TTY_IOCTL.FIONBIO,
  TTY_IOCTL.FIONREAD,
];

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
  ...TERMINAL_IOCTLS,
  TUN_IOCTL.TUNSETOFFLOAD,
  TUN_IOCTL.TUNSETVNETHDRSZ,
];
