// The vCPU exit loop: KVM_RUN, then dispatch the exit to the port-I/O or MMIO
// bus, until the guest shuts down, resets, or fails. Runs on the vCPU worker
// thread; it allocates nothing per exit (fields are read from the kvm_run page
// through the VcpuFd accessors; device values are plain numbers).
import type { GuestStop } from '../arch/arch.js';
import type { AccessBus } from '../bus/bus.js';
import { KVM_EXIT, KVM_SYSTEM_EVENT } from '../kvm/generated/uapi.js';
import { KVM_EXIT_IO_DIRECTION } from '../kvm/generated/kvm_run.js';
import type { VcpuFd } from '../kvm/vcpu.js';
import { EXIT_SLOTS } from './metrics.js';

/** Why the loop ended. `code` is the VMM's exit code. */
export type VcpuStop = GuestStop;

export interface RunLoopHooks {
  /** Called after every exit handled in userspace (the console flushes output here). */
  afterExit(): void;
  /**
   * After each exit: a device (i8042 reset) or the VMM (pause, stop) may want
   * something. Pausing blocks inside; a returned stop ends the loop.
   */
  checkpoint(): VcpuStop | undefined;
  /** KVM_RUN returned EINTR: take the pending kick (kick.ts). */
  interrupted(): void;
  /** Describes the guest's state for a failure line: RIP and the like. */
  describeFailure(): string;
}

const EXIT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(KVM_EXIT).map(([k, v]) => [v, k]));

export function runVcpu(vcpu: VcpuFd, pio: AccessBus, mmio: AccessBus, hooks: RunLoopHooks, exits: Float64Array = new Float64Array(EXIT_SLOTS)): VcpuStop {
  const view = vcpu.view;
  for (;;) {
    const reason = vcpu.run();
    exits[reason < EXIT_SLOTS ? reason : 0]!++;
    switch (reason) {
      case KVM_EXIT.IO: {
        const size = vcpu.ioSize;
        const port = vcpu.ioPort;
        const count = vcpu.ioCount;
        let off = vcpu.ioDataOffset;
        const out = vcpu.ioDirection === KVM_EXIT_IO_DIRECTION.OUT;
        for (let i = 0; i < count; i++, off += size) {
          if (out) {
            const v = size === 1 ? view.getUint8(off) : size === 2 ? view.getUint16(off, true) : view.getUint32(off, true);
            pio.write(port, size, v);
          } else {
            const v = pio.read(port, size);
            if (size === 1) view.setUint8(off, v);
            else if (size === 2) view.setUint16(off, v, true);
            else view.setUint32(off, v >>> 0, true);
          }
        }
        break;
      }
      case KVM_EXIT.MMIO: {
        const addr = vcpu.mmioAddress;
        const len = vcpu.mmioLength;
        const off = vcpu.mmioDataOffset;
        if (vcpu.mmioIsWrite) {
          mmioWrite(mmio, view, addr, len, off);
        } else {
          mmioRead(mmio, view, addr, len, off);
        }
        break;
      }
      case KVM_EXIT.INTR:
        hooks.interrupted();
        break;
      case KVM_EXIT.HLT:
        // Only without an in-kernel irqchip; nothing can wake the vCPU then.
        return { code: 0, reason: 'the guest halted' };
      case KVM_EXIT.SHUTDOWN:
        return { code: 0, reason: 'the guest shut down (reboot or triple fault)' };
      case KVM_EXIT.SYSTEM_EVENT: {
        const type = vcpu.systemEventType;
        if (type === KVM_SYSTEM_EVENT.SHUTDOWN) return { code: 0, reason: 'the guest powered off' };
        if (type === KVM_SYSTEM_EVENT.RESET) return { code: 0, reason: 'the guest rebooted' };
        if (type === KVM_SYSTEM_EVENT.CRASH) return { code: 1, reason: 'the guest reported a crash' };
        return { code: 0, reason: `the guest sent system event ${type}` };
      }
      case KVM_EXIT.FAIL_ENTRY:
        return {
          code: 1,
          reason: `KVM could not enter the guest (hardware entry failure reason 0x${vcpu.failEntryReason.toString(16)}); ${hooks.describeFailure()}`,
        };
      case KVM_EXIT.INTERNAL_ERROR: {
        const bytes = vcpu.emulationInstructionBytes();
        const insn = bytes ? `, instruction bytes ${Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ')}` : '';
        return {
          code: 1,
          reason: `KVM internal error (suberror ${vcpu.internalSuberror}${vcpu.internalSuberror === 1 ? ': instruction emulation failed' : ''}); ${hooks.describeFailure()}${insn}`,
        };
      }
      default:
        return { code: 1, reason: `unexpected KVM exit ${EXIT_NAMES[reason] ?? reason}; ${hooks.describeFailure()}` };
    }
    hooks.afterExit();
    const stop = hooks.checkpoint();
    if (stop !== undefined) return stop;
  }
}

// MMIO accesses of 1, 2, 4 or 8 bytes; 8-byte ones are split into two 4-byte
// accesses (low half first), other sizes are done byte by byte.
function mmioWrite(bus: AccessBus, view: DataView, addr: number, len: number, off: number): void {
  if (len === 1) bus.write(addr, 1, view.getUint8(off));
  else if (len === 2) bus.write(addr, 2, view.getUint16(off, true));
  else if (len === 4) bus.write(addr, 4, view.getUint32(off, true));
  else if (len === 8) {
    bus.write(addr, 4, view.getUint32(off, true));
    bus.write(addr + 4, 4, view.getUint32(off + 4, true));
  } else for (let i = 0; i < len && i < 8; i++) bus.write(addr + i, 1, view.getUint8(off + i));
}

function mmioRead(bus: AccessBus, view: DataView, addr: number, len: number, off: number): void {
  if (len === 1) view.setUint8(off, bus.read(addr, 1));
  else if (len === 2) view.setUint16(off, bus.read(addr, 2), true);
  else if (len === 4) view.setUint32(off, bus.read(addr, 4) >>> 0, true);
  else if (len === 8) {
    view.setUint32(off, bus.read(addr, 4) >>> 0, true);
    view.setUint32(off + 4, bus.read(addr + 4, 4) >>> 0, true);
  } else for (let i = 0; i < len && i < 8; i++) view.setUint8(off + i, bus.read(addr + i, 1));
}
