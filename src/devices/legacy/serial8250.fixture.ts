// A Serial8250 on a test bench: a recording interrupt line, a recording
// output and a scripted input (the UART's tests share it).
import { Serial8250, type SerialInput } from './serial8250.js';
import { UART_IIR, UART_REG } from './serial_reg.js';

export const { RX, TX, DLL, DLM, IER, IIR, FCR, LCR, MCR, LSR, MSR, SCR } = UART_REG;
export const FIFO_ON = UART_IIR.FIFO_ENABLED_16550A;

/** A UART wired to a recording interrupt line, a recording output and a scripted input. */
export function rig(hostBytes: number[] = []) {
  const edges: boolean[] = [];
  const out: number[] = [];
  const queue = [...hostBytes];
  let takes = 0;
  const input: SerialInput = {
    available: () => queue.length,
    take: () => {
      takes++;
      const b = queue.shift();
      if (b === undefined) throw new Error('take() called with nothing available');
      return b;
    },
  };
  const uart = new Serial8250({ irq: (level) => edges.push(level), output: (b) => out.push(b), input });
  return {
    uart,
    edges,
    out,
    queue,
    takes: () => takes,
    r: (off: number) => uart.read(off, 1),
    w: (off: number, v: number) => uart.write(off, 1, v),
  };
}
