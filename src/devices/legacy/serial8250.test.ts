import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RX_FIFO_DEPTH } from './serial8250.js';
import { UART_FCR, UART_IER, UART_IIR, UART_LCR, UART_LSR, UART_MCR, UART_MSR } from './serial_reg.js';
import { DLL, DLM, FCR, FIFO_ON, IER, IIR, LCR, LSR, MCR, MSR, RX, SCR, TX, rig } from './serial8250.fixture.js';

test('reset state: THR empty, no interrupt, modem inputs ready, line low', () => {
  const { r, edges } = rig();
  assert.equal(r(LSR), UART_LSR.THRE | UART_LSR.TEMT);
  assert.equal(r(IIR), UART_IIR.NO_INT);
  assert.equal(r(MSR), UART_MSR.DCD | UART_MSR.DSR | UART_MSR.CTS);
  assert.equal(r(IER), 0);
  assert.equal(r(LCR), 0);
  assert.equal(r(MCR), 0);
  assert.deepEqual(edges, []);
});

test('THR writes go to the output, low 8 bits only', () => {
  const { w, r, out } = rig();
  w(TX, 0x41);
  w(TX, 0x1ff);
  assert.deepEqual(out, [0x41, 0xff]);
  assert.equal(r(LSR) & (UART_LSR.THRE | UART_LSR.TEMT), UART_LSR.THRE | UART_LSR.TEMT);
});

test('DLAB switches offsets 0 and 1 between RBR/THR/IER and DLL/DLM', () => {
  const { w, r, out } = rig([0x33]);
  w(IER, UART_IER.RDI);
  w(LCR, UART_LCR.DLAB | UART_LCR.WLEN8);
  assert.equal(r(DLL), 12, 'reset divisor is 12 (9600 baud)');
  assert.equal(r(DLM), 0);
  w(DLL, 0x01);
  w(DLM, 0x02);
  assert.equal(r(DLL), 0x01);
  assert.equal(r(DLM), 0x02);
  assert.deepEqual(out, [], 'a DLL write is not a THR write');
  w(LCR, UART_LCR.WLEN8);
  assert.equal(r(IER), UART_IER.RDI, 'the DLM write did not touch IER');
  assert.equal(r(RX), 0x33, 'offset 0 reads the receiver again');
  w(LCR, UART_LCR.DLAB);
  assert.equal(r(DLL), 0x01, 'RBR reads did not touch DLL');
  assert.equal(r(DLM), 0x02);
  // IIR is not banked by DLAB.
  assert.equal(r(IIR), UART_IIR.NO_INT);
});

test('scratch register keeps every value; LCR keeps all 8 bits; MCR and IER keep only implemented bits', () => {
  const { w, r } = rig();
  for (let v = 0; v < 256; v++) {
    w(SCR, v);
    assert.equal(r(SCR), v);
  }
  w(LCR, 0xbf);
  assert.equal(r(LCR), 0xbf);
  w(LCR, 0);
  w(MCR, 0xff);
  assert.equal(r(MCR), UART_MCR.VALID);
  w(MCR, 0);
  w(IER, 0xff);
  assert.equal(r(IER), UART_IER.VALID);
});

test('THRE interrupt: raised on enable, cleared by the IIR read that reports it, re-armed by a THR write', () => {
  const { w, r, edges } = rig();
  w(MCR, UART_MCR.OUT2);
  w(IER, UART_IER.THRI);
  assert.deepEqual(edges, [true]);
  assert.equal(r(IIR), UART_IIR.THRI);
  assert.deepEqual(edges, [true, false]);
  assert.equal(r(IIR), UART_IIR.NO_INT, 'the IIR read cleared it');
  w(TX, 0x61);
  assert.deepEqual(edges, [true, false, true], 'writing THR re-arms it');
  w(TX, 0x62);
  assert.deepEqual(edges, [true, false, true], 'only edges are signalled');
  assert.equal(r(IIR), UART_IIR.THRI);
  // IER THRI off then on re-arms too (Linux's UART_BUG_THRE test).
  w(IER, 0);
  w(IER, UART_IER.THRI);
  assert.equal(r(IIR), UART_IIR.THRI);
  // Rewriting IER with THRI already on does not.
  w(IER, UART_IER.THRI | UART_IER.RDI);
  assert.equal(r(IIR), UART_IIR.NO_INT);
  assert.equal(edges.at(-1), false);
});

test('OUT2 gates the line but not the IIR', () => {
  const { w, r, edges } = rig();
  w(IER, UART_IER.THRI);
  assert.deepEqual(edges, [], 'no OUT2, no line');
  w(MCR, UART_MCR.DTR | UART_MCR.RTS);
  assert.deepEqual(edges, []);
  w(MCR, UART_MCR.DTR | UART_MCR.RTS | UART_MCR.OUT2);
  assert.deepEqual(edges, [true], 'setting OUT2 exposes the pending THRE');
  w(MCR, UART_MCR.DTR);
  assert.deepEqual(edges, [true, false]);
  assert.equal(r(IIR), UART_IIR.THRI, 'IIR still reports it');
  assert.deepEqual(edges, [true, false]);
});

test('interrupt priority: line status > received data > THRE > modem status', () => {
  const { w, r, edges } = rig();
  w(FCR, UART_FCR.ENABLE_FIFO); // trigger level 1
  w(MCR, UART_MCR.LOOP | UART_MCR.OUT2);
  r(MSR); // drop the deltas from entering loopback
  for (let i = 0; i < RX_FIFO_DEPTH + 1; i++) w(TX, i); // one more than fits: overrun
  w(MCR, UART_MCR.LOOP | UART_MCR.OUT2 | UART_MCR.DTR); // DSR changes: modem status
  w(IER, UART_IER.RDI | UART_IER.THRI | UART_IER.RLSI | UART_IER.MSI);
  assert.equal(edges.at(-1), true);

  assert.equal(r(IIR), FIFO_ON | UART_IIR.RLSI);
  const lsr = r(LSR);
  assert.equal(lsr & (UART_LSR.OE | UART_LSR.DR), UART_LSR.OE | UART_LSR.DR);
  assert.equal(r(LSR) & UART_LSR.OE, 0, 'OE clears on read');
  assert.equal(r(IIR), FIFO_ON | UART_IIR.RDI);
  for (let i = 0; i < RX_FIFO_DEPTH; i++) assert.equal(r(RX), i);
  assert.equal(r(IIR), FIFO_ON | UART_IIR.THRI);
  assert.equal(r(IIR), FIFO_ON | UART_IIR.MSI, 'THRE cleared by the read above');
  assert.equal(edges.at(-1), true);
  assert.equal(r(MSR) & UART_MSR.ANY_DELTA, UART_MSR.DDSR);
  assert.equal(r(IIR), FIFO_ON | UART_IIR.NO_INT);
  assert.equal(edges.at(-1), false);
  // Edges strictly alternate.
  edges.forEach((e, i) => assert.equal(e, i % 2 === 0));
});

test('disabled sources are not reported', () => {
  const { w, r } = rig([1]);
  w(MCR, UART_MCR.OUT2);
  r(LSR); // pulls the byte
  assert.equal(r(IIR), UART_IIR.NO_INT, 'data ready but RDI off');
  w(IER, UART_IER.MSI);
  assert.equal(r(IIR), UART_IIR.NO_INT, 'no modem delta outside loopback');
  w(IER, UART_IER.RDI);
  assert.equal(r(IIR), UART_IIR.RDI);
});
