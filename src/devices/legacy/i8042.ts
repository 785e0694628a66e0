// Just enough of the i8042 keyboard controller for a guest to reboot the
// machine: command 0xFE ("pulse output line 0", the CPU reset line) written to
// the command port asks the VMM to stop with "reboot". Linux uses it with
// `reboot=k`; our test guests use it too. No keyboard is attached: the status
// register reports an empty output buffer, so drivers find no data.
// Ports: 0x60 data, 0x64 status/command (IBM PC AT Technical Reference).
import type { BusDevice } from '../../bus/bus.js';

export const I8042_PORT = { DATA: 0x60, COMMAND: 0x64 } as const;
export const I8042_CMD = { PULSE_RESET: 0xfe } as const;

export class I8042 implements BusDevice {
  /** The guest asked for a CPU reset. */
  resetRequested = false;

  /**
   * Registered at 0x60 with length 5, so offset 0 is the data port and offset
   * 4 the command/status port; 0x61-0x63 read as zero.
   */
  constructor(private readonly onReset: () => void) {}

  read(offset: number, _size: number): number {
    return offset === 0 ? 0 : 0; // no data byte; status: output buffer empty, input buffer empty
  }

  write(offset: number, _size: number, value: number): void {
    if (offset === 4 && (value & 0xff) === I8042_CMD.PULSE_RESET) {
      this.resetRequested = true;
      this.onReset();
    }
  }
}
