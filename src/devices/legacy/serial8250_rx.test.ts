// The 8250's receive side: FIFO, trigger levels, overrun, loopback, host input and BREAK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RX_FIFO_DEPTH, Serial8250, type SerialInput } from './serial8250.js';
import { UART_FCR, UART_IER, UART_IIR, UART_LSR, UART_MCR, UART_MSR } from './serial_reg.js';
import { FCR, FIFO_ON, IER, IIR, LCR, LSR, MCR, MSR, RX, SCR, TX, rig } from './serial8250.fixture.js';

test('RX FIFO fills from the host up to 16 bytes, drains in order, refills as the guest reads', () => {
  const data = Array.from({ length: 20 }, (_, i) => 0x80 + i);
  const { uart, w, r, queue } = rig(data);
  w(FCR, UART_FCR.ENABLE_FIFO);
  uart.pollInput();
  assert.equal(queue.length, 20 - RX_FIFO_DEPTH, 'pulled only while there was room');
  const got: number[] = [];
  while (r(LSR) & UART_LSR.DR) got.push(r(RX));
  assert.deepEqual(got, data);
  assert.equal(r(LSR) & UART_LSR.OE, 0, 'host input never overruns');
});

test('without FIFOs the receiver holds one byte', () => {
  const { uart, r, queue } = rig([1, 2, 3]);
  uart.pollInput();
  assert.equal(queue.length, 2);
  assert.equal(r(RX), 1);
  assert.equal(queue.length, 1, 'the read made room for the next byte');
});

test('trigger level: below it a character timeout, at it received-data-available', () => {
  const levels: Array<[number, number]> = [
    [UART_FCR.R_TRIG_00, 1],
    [UART_FCR.R_TRIG_01, 4],
    [UART_FCR.R_TRIG_10, 8],
    [UART_FCR.R_TRIG_11, 14],
  ];
  for (const [bits, level] of levels) {
    const { uart, w, r, queue } = rig();
    w(FCR, UART_FCR.ENABLE_FIFO | bits);
    w(IER, UART_IER.RDI);
    for (let n = 1; n <= level; n++) {
      queue.push(n);
      uart.pollInput();
      const want = n < level ? UART_IIR.RX_TIMEOUT : UART_IIR.RDI;
      assert.equal(r(IIR), FIFO_ON | want, `level ${level}, ${n} bytes`);
    }
  }
});

test('FCR: CLEAR_RCVR and mode switches empty the FIFO; IIR bits 7:6', () => {
  const { w, r } = rig();
  w(FCR, UART_FCR.ENABLE_FIFO | UART_FCR.R_TRIG_11);
  assert.equal(r(IIR), FIFO_ON | UART_IIR.NO_INT);
  w(MCR, UART_MCR.LOOP);
  w(TX, 7);
  w(TX, 8);
  w(FCR, UART_FCR.ENABLE_FIFO | UART_FCR.CLEAR_RCVR);
  assert.equal(r(LSR) & UART_LSR.DR, 0, 'CLEAR_RCVR emptied it');
  w(TX, 9);
  w(FCR, 0);
  assert.equal(r(LSR) & UART_LSR.DR, 0, 'leaving FIFO mode emptied it');
  assert.equal(r(IIR), UART_IIR.NO_INT, 'FIFO bits clear when disabled');
  w(FCR, UART_FCR.ENABLE_FIFO | UART_FCR.R_TRIG_11 | UART_FCR.FIFO_64BYTE);
  assert.equal(r(IIR) & UART_IIR.FIFO_64BYTE, 0, 'a 16550A never sets IIR bit 5');
});

test('overrun in FIFO mode keeps the FIFO and drops the new byte; in 16450 mode the new byte wins', () => {
  const a = rig();
  a.w(FCR, UART_FCR.ENABLE_FIFO);
  a.w(MCR, UART_MCR.LOOP);
  for (let i = 0; i < 20; i++) a.w(TX, i);
  assert.ok(a.r(LSR) & UART_LSR.OE);
  const got: number[] = [];
  while (a.r(LSR) & UART_LSR.DR) got.push(a.r(RX));
  assert.deepEqual(got, Array.from({ length: 16 }, (_, i) => i));

  const b = rig();
  b.w(MCR, UART_MCR.LOOP);
  b.w(TX, 1);
  b.w(TX, 2);
  assert.equal(b.r(LSR) & (UART_LSR.OE | UART_LSR.DR), UART_LSR.OE | UART_LSR.DR);
  assert.equal(b.r(RX), 2);
  assert.equal(b.r(LSR) & UART_LSR.DR, 0);
});

test('loopback: THR reaches RBR not the output, MSR mirrors MCR, host input waits', () => {
  const { uart, w, r, out, queue } = rig([0x55]);
  w(MCR, UART_MCR.LOOP);
  w(TX, 0xa5);
  assert.deepEqual(out, []);
  assert.equal(r(RX), 0xa5);
  assert.equal(r(LSR) & UART_LSR.DR, 0, 'host byte not pulled in loopback');
  uart.pollInput();
  assert.equal(queue.length, 1);

  const pairs: Array<[number, number]> = [
    [UART_MCR.DTR, UART_MSR.DSR],
    [UART_MCR.RTS, UART_MSR.CTS],
    [UART_MCR.OUT1, UART_MSR.RI],
    [UART_MCR.OUT2, UART_MSR.DCD],
  ];
  for (const [mcrBit, msrBit] of pairs) {
    w(MCR, UART_MCR.LOOP | mcrBit);
    assert.equal(r(MSR) & 0xf0, msrBit);
  }
  // Linux's loopback existence test: MCR = LOOP|OUT2|RTS must read MSR[7:4] = DCD|CTS.
  w(MCR, UART_MCR.LOOP | 0x0a);
  assert.equal(r(MSR) & 0xf0, 0x90);

  // Deltas: DCTS/DDSR/DDCD on any change, TERI only when RI goes off.
  w(MCR, UART_MCR.LOOP);
  r(MSR);
  w(MCR, UART_MCR.LOOP | UART_MCR.OUT1);
  assert.equal(r(MSR), UART_MSR.RI, 'RI rising: no TERI');
  w(MCR, UART_MCR.LOOP);
  assert.equal(r(MSR), UART_MSR.TERI);
  w(MCR, UART_MCR.LOOP | UART_MCR.DTR | UART_MCR.RTS | UART_MCR.OUT2);
  assert.equal(r(MSR), UART_MSR.DSR | UART_MSR.CTS | UART_MSR.DCD | UART_MSR.DDSR | UART_MSR.DCTS | UART_MSR.DDCD);
  assert.equal(r(MSR) & UART_MSR.ANY_DELTA, 0, 'deltas clear on read');

  w(MCR, 0);
  assert.equal(r(RX), 0x55, 'leaving loopback reconnects the host');
});

test('host input: pollInput pulls and raises RDA; LSR and RBR reads pull without a kick', () => {
  const { uart, w, r, edges, queue, takes } = rig();
  assert.equal(uart.rxInterruptEnabled, false);
  w(MCR, UART_MCR.OUT2);
  w(IER, UART_IER.RDI);
  assert.equal(uart.rxInterruptEnabled, true);
  uart.pollInput();
  assert.deepEqual(edges, [], 'nothing to pull');
  queue.push(0x31);
  uart.pollInput();
  assert.deepEqual(edges, [true]);
  assert.equal(r(RX), 0x31);
  assert.deepEqual(edges, [true, false]);

  // A polling guest sees new data through LSR alone.
  queue.push(0x32);
  assert.equal(r(LSR) & UART_LSR.DR, UART_LSR.DR);
  assert.equal(r(RX), 0x32);
  queue.push(0x33);
  assert.equal(r(RX), 0x33, 'an RBR read on an empty FIFO pulls first');
  assert.equal(takes(), 3);
  assert.equal(r(RX), 0, 'empty receiver reads 0');
});

test('pulling is bounded by the FIFO even when input claims endless data', () => {
  let takes = 0;
  const endless: SerialInput = { available: () => 1 << 30, take: () => (takes++, 0x1234) };
  const uart = new Serial8250({ irq: () => {}, output: () => {}, input: endless });
  uart.write(FCR, 1, UART_FCR.ENABLE_FIFO);
  uart.pollInput();
  assert.equal(takes, RX_FIFO_DEPTH);
  assert.equal(uart.read(RX, 1), 0x34, 'host bytes are masked to 8 bits');
});

test('works without an input', () => {
  const edges: boolean[] = [];
  const uart = new Serial8250({ irq: (l) => edges.push(l), output: () => {} });
  uart.pollInput();
  assert.equal(uart.read(LSR, 1), UART_LSR.THRE | UART_LSR.TEMT);
  assert.equal(uart.read(RX, 1), 0);
});

test('wide or out-of-range accesses read all ones and have no side effect', () => {
  const { uart, w, r, out, edges } = rig([9]);
  w(MCR, UART_MCR.OUT2);
  w(IER, UART_IER.THRI);
  assert.deepEqual(edges, [true]);
  assert.equal(uart.read(IIR, 2), 0xffff);
  assert.equal(uart.read(IIR, 4), 0xffffffff);
  assert.equal(uart.read(8, 1), 0xff);
  assert.equal(uart.read(-1, 1), 0xff);
  assert.equal(uart.read(1.5, 1), 0xff);
  assert.equal(uart.read(Number.NaN, 1), 0xff);
  assert.deepEqual(edges, [true], 'the wide IIR read did not clear THRE');
  uart.write(TX, 2, 0x4141);
  uart.write(8, 1, 0x41);
  uart.write(SCR, 4, 0x41);
  assert.deepEqual(out, []);
  assert.equal(r(SCR), 0);
  assert.equal(r(RX), 9, 'the byte is still there');
});

test('random register traffic keeps edges alternating and reads within a byte', () => {
  let seed = 0x2545f491;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const { uart, r, w, edges, queue } = rig();
  for (let i = 0; i < 20000; i++) {
    const op = rand(10);
    if (op < 5) {
      const v = r(rand(8));
      assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xff);
    } else if (op < 9) {
      w(rand(8), rand(0x200));
    } else {
      queue.push(rand(256));
      uart.pollInput();
    }
  }
  edges.forEach((e, i) => assert.equal(e, i % 2 === 0, `edge ${i}`));
  // Whatever state the traffic left, masking every source drops the line
  // and a fresh THRE raises it.
  w(LCR, 0);
  w(IER, 0);
  w(MCR, UART_MCR.OUT2);
  assert.equal(edges.length === 0 || edges.at(-1) === false, true);
  w(IER, UART_IER.THRI);
  assert.equal(edges.at(-1), true);
});

test('a host BREAK: a 0 character with LSR.BI and a line-status interrupt, then the next byte', () => {
  const queue: number[] = [];
  let breaks = 0;
  const edges: boolean[] = [];
  const uart = new Serial8250({
    irq: (level) => edges.push(level),
    output: () => undefined,
    input: {
      available: () => queue.length,
      take: () => queue.shift()!,
      takeBreak: () => (breaks > 0 ? (breaks--, true) : false),
    },
  });
  const r = (off: number): number => uart.read(off, 1);
  uart.write(MCR, 1, UART_MCR.OUT2);
  uart.write(FCR, 1, UART_FCR.ENABLE_FIFO);
  uart.write(IER, 1, UART_IER.RDI | UART_IER.RLSI);
  breaks = 1;
  queue.push(0x74);
  uart.pollInput();
  assert.deepEqual(edges, [true]);
  assert.equal(r(IIR) & 0x0f, UART_IIR.RLSI, 'line status outranks received data');
  const lsr = r(LSR);
  assert.equal(lsr & UART_LSR.BI, UART_LSR.BI);
  assert.equal(lsr & UART_LSR.DR, UART_LSR.DR);
  assert.equal(r(LSR) & UART_LSR.BI, 0, 'reading LSR clears BI');
  assert.notEqual(r(IIR) & 0x0f, UART_IIR.RLSI, 'and the line-status interrupt');
  assert.equal(r(RX), 0, 'the break character is 0');
  assert.equal(r(LSR) & UART_LSR.BI, 0, 'the byte after it is an ordinary one');
  assert.equal(r(RX), 0x74);
  assert.equal(r(LSR) & UART_LSR.DR, 0);
  assert.equal(edges.at(-1), false);
});
