// The console UART both architectures put on a bus (port I/O on x86, MMIO on
// arm64): the 8250 model wired to the VMM's console and to an interrupt line,
// telling the console side whether the guest wants RX interrupts (so input
// can wake an idle guest).
import type { MachineContext } from './arch.js';
import type { Bus } from '../bus/bus.js';
import { Serial8250 } from '../devices/legacy/serial8250.js';

export function attachConsoleUart(ctx: MachineContext, bus: Bus, base: number, span: number, irqLine: number): void {
  const serial = new Serial8250({
    irq: (level) => ctx.vm.irqLine(irqLine, level),
    output: ctx.console.output,
    input: ctx.console.input,
  });
  bus.register(base, span, {
    read: (offset, size) => serial.read(offset, size),
    write: (offset, size, value) => {
      serial.write(offset, size, value);
      ctx.console.rxInterruptEnabled(serial.rxInterruptEnabled);
    },
  });
}
