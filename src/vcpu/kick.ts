// Kicking a vCPU thread out of KVM_RUN (to pause it or stop it), without a
// race: the kick signal (VCPU_KICK_SIGNAL) is blocked in the vCPU thread at
// all times except inside KVM_RUN, where KVM_SET_SIGNAL_MASK unblocks it. A
// kick sent while the thread is in KVM_RUN makes KVM return EINTR
// (KVM_EXIT_INTR); a kick sent while it runs VMM code stays pending, and
// the next KVM_RUN returns EINTR before entering the guest. The signal is
// never delivered to a handler: the thread takes it with rt_sigtimedwait.
// (QEMU's kvm_eat_signals scheme; immediate_exit is not needed with it.)
// Source: Documentation/virt/kvm/api.rst, KVM_SET_SIGNAL_MASK and KVM_RUN.
import { KVM_IOCTL } from '../kvm/generated/uapi.js';
import { isErrno, native } from '../native/addon.js';
import { VCPU_KICK_SIGNAL } from '../native/linux.js';

/** rt_sigprocmask's `how` (asm-generic/signal-defs.h). */
const SIG_BLOCK = 0;
/** Bytes of the kernel's sigset_t on x86_64 and arm64 (64 signals). */
const SIGSET_BYTES = 8;

/** A kernel sigset holding `signals` (bit n-1 is signal n). */
export function sigset(...signals: number[]): Buffer {
  const set = Buffer.alloc(SIGSET_BYTES);
  let bits = 0n;
  for (const s of signals) {
    if (!Number.isInteger(s) || s < 1 || s > 64) throw new RangeError(`signal ${s} is not 1-64`);
    bits |= 1n << BigInt(s - 1);
  }
  set.writeBigUInt64LE(bits);
  return set;
}

const KICK_SET = sigset(VCPU_KICK_SIGNAL);

/**
 * On the vCPU thread, before its first KVM_RUN: blocks the kick signal in
 * this thread and tells KVM to run the guest with this thread's mask minus
 * the kick signal.
 */
export function prepareKickable(vcpuFd: number): void {
  const old = Buffer.alloc(SIGSET_BYTES);
  native.sigprocmask(SIG_BLOCK, KICK_SET, old);
  const during = old.readBigUInt64LE() & ~(1n << BigInt(VCPU_KICK_SIGNAL - 1));
  // struct kvm_signal_mask { __u32 len; __u8 sigset[len]; }
  const mask = Buffer.alloc(4 + SIGSET_BYTES);
  mask.writeUInt32LE(SIGSET_BYTES, 0);
  mask.writeBigUInt64LE(during, 4);
  native.ioctl(vcpuFd, KVM_IOCTL.SET_SIGNAL_MASK, mask);
}

/** On the vCPU thread: takes a pending kick, if any (after KVM_RUN returned EINTR). */
export function consumeKick(): boolean {
  return native.sigtimedwait(KICK_SET, 0) === VCPU_KICK_SIGNAL;
}

/**
 * From any thread of the VMM: kicks vCPU thread `tid` out of KVM_RUN (or
 * makes its next KVM_RUN return at once). A thread that has already ended
 * (ESRCH: the guest stopped it first) needs no kick.
 */
export function kickThread(tid: number): void {
  try {
    native.tgkill(process.pid, tid, VCPU_KICK_SIGNAL);
  } catch (err) {
    if (!isErrno(err, 'ESRCH')) throw err;
  }
}
