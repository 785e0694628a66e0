// Replays, register access by register access, what Linux's 8250 driver
// (drivers/tty/serial/8250/8250_port.c) does to a port: autoconfig() and
// autoconfig_16550a() to identify the chip, size_fifo(), autoconfig_irq(),
// the UART_BUG_THRE and UART_BUG_TXEN tests of serial8250_do_startup(), and
// then interrupt-driven receive and transmit. The driver logic is restated
// here in TypeScript from reading the C; only the register traffic matters.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BusDevice } from '../../bus/bus.js';
import { Serial8250, type SerialInput } from './serial8250.js';
import { UART_FCR, UART_IER, UART_IIR, UART_LCR, UART_LSR, UART_MCR, UART_REG } from './serial_reg.js';

const R = UART_REG;

class Port {
  constructor(private readonly dev: BusDevice) {}
  in(off: number): number {
    return this.dev.read(off, 1);
  }
  out(off: number, v: number): void {
    this.dev.write(off, 1, v);
  }
  dlRead(): number {
    return this.in(R.DLL) | (this.in(R.DLM) << 8);
  }
  dlWrite(v: number): void {
    this.out(R.DLL, v & 0xff);
    this.out(R.DLM, v >> 8);
  }
}

/** size_fifo(): count how many looped-back bytes the receiver keeps. */
function sizeFifo(p: Port): number {
  const oldLcr = p.in(R.LCR);
  p.out(R.LCR, 0);
  const oldFcr = p.in(R.FCR); // reads the IIR, as the driver does
  const oldMcr = p.in(R.MCR);
  p.out(R.FCR, UART_FCR.ENABLE_FIFO | UART_FCR.CLEAR_RCVR | UART_FCR.CLEAR_XMIT);
  p.out(R.MCR, UART_MCR.LOOP);
  p.out(R.LCR, UART_LCR.CONF_MODE_A);
  const oldDl = p.dlRead();
  p.dlWrite(0x0001);
  p.out(R.LCR, 0x03);
  for (let i = 0; i < 256; i++) p.out(R.TX, i);
  let count = 0;
  while (p.in(R.LSR) & UART_LSR.DR && count < 256) {
    p.in(R.RX);
    count++;
  }
  p.out(R.FCR, oldFcr);
  p.out(R.MCR, oldMcr);
  p.out(R.LCR, UART_LCR.CONF_MODE_A);
  p.dlWrite(oldDl);
  p.out(R.LCR, oldLcr);
  return count;
}

/** autoconfig_16550a(): the chip has FIFOs; look for EFRs and the known 16550A-alikes. */
function autoconfig16550a(p: Port, found: { fifo: number }): string {
  p.out(R.LCR, UART_LCR.CONF_MODE_A);
  if (p.in(R.EFR) === 0) return '16650 (EFR with DLAB)';
  p.out(R.LCR, UART_LCR.CONF_MODE_B);
  if (p.in(R.EFR) === 0) return '16650V2 (EFR at LCR=0xBF)';

  // National Semiconductor SuperIO: bank 2 (LCR=0xE0) exposes EXCR1 at offset 2.
  p.out(R.LCR, 0);
  const mcr = p.in(R.MCR);
  p.out(R.LCR, 0xe0);
  let excr1 = p.in(2);
  if (!((excr1 ^ mcr) & UART_MCR.LOOP)) {
    p.out(R.LCR, 0);
    p.out(R.MCR, mcr ^ UART_MCR.LOOP);
    p.out(R.LCR, 0xe0);
    excr1 = p.in(2);
    p.out(R.LCR, 0);
    p.out(R.MCR, mcr);
    if ((excr1 ^ mcr) & UART_MCR.LOOP) return 'NS16550A';
  }

  // TI16750: IIR bit 5 follows FCR bit 5, with DLAB set only.
  p.out(R.LCR, 0);
  p.out(R.FCR, UART_FCR.ENABLE_FIFO | UART_FCR.FIFO_64BYTE);
  const s1 = p.in(R.IIR) >> 5;
  p.out(R.FCR, UART_FCR.ENABLE_FIFO);
  p.out(R.LCR, UART_LCR.CONF_MODE_A);
  p.out(R.FCR, UART_FCR.ENABLE_FIFO | UART_FCR.FIFO_64BYTE);
  const s2 = p.in(R.IIR) >> 5;
  p.out(R.FCR, UART_FCR.ENABLE_FIFO);
  p.out(R.LCR, 0);
  if (s1 === 6 && s2 === 7) return '16750';

  // XScale: IER bit 6 (UUE) sticks.
  const ier = p.in(R.IER);
  p.out(R.IER, ier & ~UART_IER.UUE);
  if (!(p.in(R.IER) & UART_IER.UUE)) {
    p.out(R.IER, ier | UART_IER.UUE);
    if (p.in(R.IER) & UART_IER.UUE) return 'XScale';
  }
  p.out(R.IER, ier);

  found.fifo = sizeFifo(p);
  return found.fifo === 64 ? 'U6_16550A' : '16550A';
}

/** autoconfig(): existence tests, then the IIR FIFO bits choose the family. */
function autoconfig(p: Port): { type: string; fifo: number } {
  const found = { fifo: 0 };
  const ier = p.in(R.IER);
  p.out(R.IER, 0);
  const ier0 = p.in(R.IER) & 0x0f;
  p.out(R.IER, 0x0f);
  const ierF = p.in(R.IER) & 0x0f;
  p.out(R.IER, ier);
  if (ier0 !== 0 || ierF !== 0x0f) return { type: 'none (IER test)', fifo: 0 };

  const saveMcr = p.in(R.MCR);
  const saveLcr = p.in(R.LCR);
  p.out(R.MCR, UART_MCR.LOOP | 0x0a);
  const msr = p.in(R.MSR) & 0xf0;
  p.out(R.MCR, saveMcr);
  if (msr !== 0x90) return { type: 'none (LOOP test)', fifo: 0 };

  p.out(R.LCR, UART_LCR.CONF_MODE_B);
  p.out(R.EFR, 0);
  p.out(R.LCR, 0);
  p.out(R.FCR, UART_FCR.ENABLE_FIFO);
  let type: string;
  switch (p.in(R.IIR) >> 6) {
    case 0: {
      const scratch = p.in(R.SCR);
      p.out(R.SCR, 0xa5);
      const a = p.in(R.SCR);
      p.out(R.SCR, 0x5a);
      const b = p.in(R.SCR);
      p.out(R.SCR, scratch);
      type = a === 0xa5 && b === 0x5a ? '16450' : '8250';
      break;
    }
    case 1:
      type = 'unknown';
      break;
    case 2:
      type = '16550';
      break;
    default:
      type = autoconfig16550a(p, found);
  }
  p.out(R.LCR, saveLcr);
  // Reset the UART.
  p.out(R.MCR, saveMcr);
  p.out(R.FCR, UART_FCR.ENABLE_FIFO);
  p.out(R.FCR, UART_FCR.ENABLE_FIFO | UART_FCR.CLEAR_RCVR | UART_FCR.CLEAR_XMIT);
  p.out(R.FCR, 0);
  p.in(R.RX);
  p.out(R.IER, 0);
  return { type, fifo: found.fifo };
}

function rig(host: number[] = []) {
  const edges: boolean[] = [];
  const out: number[] = [];
  const queue = [...host];
  const input: SerialInput = { available: () => queue.length, take: () => queue.shift() ?? 0 };
  const uart = new Serial8250({ irq: (l) => edges.push(l), output: (b) => out.push(b), input });
  return { uart, port: new Port(uart), edges, out, queue };
}

test('Linux autoconfig() identifies the model as a 16550A with a 16-byte FIFO', () => {
  const { port, out, edges } = rig();
  port.out(R.SCR, 0x42);
  const found = autoconfig(port);
  assert.equal(found.type, '16550A');
  assert.equal(found.fifo, 16);
  // The probe restored what it touched and leaked nothing to the host.
  assert.equal(port.in(R.LCR), 0);
  assert.equal(port.in(R.MCR), 0);
  assert.equal(port.in(R.SCR), 0x42);
  port.out(R.LCR, UART_LCR.DLAB);
  assert.equal(port.dlRead(), 12, 'size_fifo() restored the divisor');
  port.out(R.LCR, 0);
  assert.deepEqual(out, [], 'loopback bytes never reach the host');
  assert.deepEqual(edges, [], 'OUT2 was never set, so the line stayed low');
});

test('the probe replica tells other chips apart (so the 16550A answer means something)', () => {
  // A 16450: same registers, but the IIR has no FIFO bits.
  const inner = rig().uart;
  const no16550: BusDevice = {
    read: (off, size) => {
      const v = inner.read(off, size);
      return off === R.IIR ? v & ~UART_IIR.FIFO_ENABLED_16550A : v;
    },
    write: (off, size, v) => inner.write(off, size, v),
  };
  assert.equal(autoconfig(new Port(no16550)).type, '16450');
  // Nothing decoded: the bus answers all ones.
  const floating: BusDevice = { read: () => 0xff, write: () => {} };
  assert.equal(autoconfig(new Port(floating)).type, 'none (IER test)');
});

test('autoconfig_irq(): the IRQ autoprobe sees the line rise', () => {
  const { port, edges } = rig();
  const saveMcr = port.in(R.MCR);
  const saveIer = port.in(R.IER);
  port.out(R.MCR, UART_MCR.OUT1 | UART_MCR.OUT2);
  const mark = edges.length; // probe_irq_on()
  port.out(R.MCR, 0);
  port.out(R.MCR, UART_MCR.DTR | UART_MCR.RTS | UART_MCR.OUT2);
  port.out(R.IER, 0x0f);
  port.in(R.LSR);
  port.in(R.RX);
  port.in(R.IIR);
  port.in(R.MSR);
  port.out(R.TX, 0xff);
  // probe_irq_off(): an edge-triggered ISA IRQ latched a rising edge, and the line is still up.
  assert.ok(edges.slice(mark).includes(true));
  assert.equal(edges.at(-1), true);
  port.out(R.MCR, saveMcr);
  port.out(R.IER, saveIer);
  assert.equal(edges.at(-1), false);
});

test('serial8250_do_startup(): no UART_BUG_THRE, no UART_BUG_TXEN; then RX and TX by interrupt', () => {
  const { uart, port, edges, out, queue } = rig();
  autoconfig(port);

  // Clear the FIFO buffers and disable them; clear the interrupt registers.
  port.out(R.FCR, UART_FCR.ENABLE_FIFO);
  port.out(R.FCR, UART_FCR.ENABLE_FIFO | UART_FCR.CLEAR_RCVR | UART_FCR.CLEAR_XMIT);
  port.out(R.FCR, 0);
  port.in(R.LSR);
  port.in(R.RX);
  port.in(R.IIR);
  port.in(R.MSR);
  assert.notEqual(port.in(R.LSR), 0xff, 'LSR safety check');

  // UART_BUG_THRE: THRE must be reasserted after IER is toggled.
  while (!(port.in(R.LSR) & UART_LSR.THRE)) assert.fail('wait_for_xmitr would spin');
  port.out(R.IER, UART_IER.THRI);
  const iir1 = port.in(R.IIR);
  port.out(R.IER, 0);
  port.out(R.IER, UART_IER.THRI);
  const iir2 = port.in(R.IIR);
  port.out(R.IER, 0);
  const bugThre = !(iir1 & UART_IIR.NO_INT) && (iir2 & UART_IIR.NO_INT) !== 0;
  assert.equal(bugThre, false);

  // Initialise: 8N1, DTR|RTS|OUT2 ("Most PC uarts need OUT2 raised").
  port.out(R.LCR, UART_LCR.WLEN8);
  port.out(R.MCR, UART_MCR.DTR | UART_MCR.RTS | UART_MCR.OUT2);

  // UART_BUG_TXEN: enabling THRI must produce a THRE interrupt.
  port.out(R.IER, UART_IER.THRI);
  const lsr = port.in(R.LSR);
  const iir = port.in(R.IIR);
  port.out(R.IER, 0);
  const bugTxen = (lsr & UART_LSR.TEMT) !== 0 && (iir & UART_IIR.NO_INT) !== 0;
  assert.equal(bugTxen, false);
  port.in(R.LSR);
  port.in(R.RX);
  port.in(R.IIR);
  port.in(R.MSR);

  // set_termios(): 115200 8N1, FIFO with the 16550A's 8-byte trigger, RX interrupts.
  port.out(R.FCR, UART_FCR.ENABLE_FIFO | UART_FCR.R_TRIG_10);
  port.out(R.LCR, UART_LCR.WLEN8 | UART_LCR.DLAB);
  port.dlWrite(1);
  port.out(R.LCR, UART_LCR.WLEN8);
  port.out(R.IER, UART_IER.RLSI | UART_IER.RDI);
  assert.equal(uart.rxInterruptEnabled, true);
  assert.equal(edges.at(-1), false);

  /** serial8250_handle_irq(): one interrupt; returns the received bytes. */
  const txQueue: number[] = [];
  let ier = UART_IER.RLSI | UART_IER.RDI;
  const handleIrq = (): number[] => {
    const id = port.in(R.IIR);
    assert.equal(id & UART_IIR.NO_INT, 0, 'the line was up, so the IIR has a source');
    let status = port.in(R.LSR);
    const got: number[] = [];
    if (status & UART_LSR.DR && id & UART_IIR.RDI) {
      let n = 256;
      do {
        got.push(port.in(R.RX));
        status = port.in(R.LSR);
      } while (status & UART_LSR.DR && --n > 0);
    }
    port.in(R.MSR);
    if (status & UART_LSR.THRE) {
      for (let n = 16; n > 0 && txQueue.length > 0; n--) port.out(R.TX, txQueue.shift() ?? 0);
      if (txQueue.length === 0) port.out(R.IER, (ier &= ~UART_IER.THRI));
    }
    return got;
  };

  // Receive: three bytes sit below the trigger level and arrive as a timeout interrupt.
  queue.push(...Buffer.from('hi\n'));
  uart.pollInput();
  assert.equal(edges.at(-1), true);
  assert.equal(port.in(R.IIR), UART_IIR.FIFO_ENABLED_16550A | UART_IIR.RX_TIMEOUT);
  assert.deepEqual(Buffer.from(handleIrq()).toString(), 'hi\n');
  assert.equal(edges.at(-1), false);

  // Transmit 40 bytes: __start_tx() sets THRI, each interrupt loads up to 16.
  const msg = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyzABCD');
  txQueue.push(...msg);
  port.out(R.IER, (ier |= UART_IER.THRI));
  let interrupts = 0;
  while (edges.at(-1) === true) {
    handleIrq();
    interrupts++;
    assert.ok(interrupts < 10, 'transmission must finish');
  }
  assert.equal(Buffer.from(out).toString(), msg.toString());
  assert.equal(interrupts, 3);
  edges.forEach((e, i) => assert.equal(e, i % 2 === 0, `edge ${i} alternates`));
});
