// Fuzz target for the 8250 UART: random register reads and writes (any
// offset, any size, any value), host input with BREAKs, and polls, then the
// initialisation Linux's 8250 driver does when it opens the port.
//
// Invariants (serial8250.ts is the contract):
// - nothing throws; a 1-byte register read is a byte; an access of another
//   size or outside registers 0..7 reads all ones and changes nothing (no
//   output, no input taken, no interrupt change, same registers after);
// - the bytes sent to the host are exactly the THR writes made with DLAB and
//   loopback off (a model that follows LCR and MCR writes says which);
// - the interrupt line is only ever driven to a new level;
// - input is taken only when the host has some (SerialInput.take contract);
// - reset equivalent: the UART has no reset line, but after the sequence a
//   driver uses to take it over (LCR, IER off, FIFOs cleared, MCR, status
//   reads, divisor, FCR, SCR, IER on) every register reads as on a UART that
//   never saw the fuzzed accesses, and the interrupt line is at the same level.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { u8 } from '../../fuzz/arbitraries.js';
import { fuzzTarget, type FuzzTarget } from '../../fuzz/target.js';
import { Serial8250, type SerialInput } from './serial8250.js';
import { UART_FCR, UART_IER, UART_LCR, UART_MCR, UART_REG, UART_REG_SPAN } from './serial_reg.js';

class FuzzInput implements SerialInput {
  readonly queue: number[] = [];
  breaks = 0;
  available(): number {
    return this.queue.length;
  }
  take(): number {
    assert.ok(this.queue.length > 0, 'take() with no input available');
    return this.queue.shift()!;
  }
  takeBreak(): boolean {
    if (this.breaks === 0) return false;
    this.breaks--;
    return true;
  }
}

interface Rig {
  readonly uart: Serial8250;
  readonly input: FuzzInput;
  readonly output: number[];
  /** Levels driven on the interrupt line, in order. */
  readonly levels: boolean[];
}

function rig(): Rig {
  const input = new FuzzInput();
  const output: number[] = [];
  const levels: boolean[] = [];
  const uart = new Serial8250({
    irq: (level) => {
      assert.notEqual(levels[levels.length - 1] ?? false, level, `interrupt line driven to ${level} twice`);
      levels.push(level);
    },
    output: (b) => output.push(b),
    input,
  });
  return { uart, input, output, levels };
}

type Op =
  | { readonly kind: 'read'; readonly offset: number; readonly size: number }
  | { readonly kind: 'write'; readonly offset: number; readonly size: number; readonly value: number }
  | { readonly kind: 'input'; readonly bytes: readonly number[]; readonly breaks: number }
  | { readonly kind: 'poll' };

const offset = fc.oneof({ weight: 12, arbitrary: fc.nat({ max: UART_REG_SPAN - 1 }) }, { weight: 1, arbitrary: fc.constantFrom(8, -1, 1.5, Number.NaN, 2 ** 32, 0x3f8) });
const size = fc.oneof({ weight: 12, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(0, 2, 3, 4, 8) });
const value = fc.oneof({ weight: 8, arbitrary: u8() }, { weight: 2, arbitrary: fc.constantFrom(UART_LCR.DLAB, UART_MCR.LOOP | UART_MCR.OUT2, UART_FCR.ENABLE_FIFO | UART_FCR.CLEAR_RCVR, 0xbf) }, { weight: 1, arbitrary: fc.constantFrom(0x1ff, -1, 0xffff_ffff) });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), offset, size }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), offset, size, value }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('input' as const), bytes: fc.array(u8(), { maxLength: 24 }), breaks: fc.nat({ max: 2 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'poll' as const }) },
);

const isRegister = (o: number): boolean => Number.isInteger(o) && o >= 0 && o < UART_REG_SPAN;

/** Register values readable without side effects: LCR, MCR, SCR, and (DLAB aside) IER. */
function quietRegisters(u: Serial8250): number[] {
  return [UART_REG.LCR, UART_REG.MCR, UART_REG.SCR].map((r) => u.read(r, 1));
}

/** What a driver does to take the port over, then what it reads back (in order, side effects included). */
function takeOver(r: Rig): number[] {
  const w = (reg: number, v: number): void => r.uart.write(reg, 1, v);
  w(UART_REG.LCR, UART_LCR.WLEN8);
  w(UART_REG.IER, 0);
  w(UART_REG.FCR, UART_FCR.ENABLE_FIFO | UART_FCR.CLEAR_RCVR | UART_FCR.CLEAR_XMIT);
  w(UART_REG.FCR, 0);
  w(UART_REG.MCR, UART_MCR.DTR | UART_MCR.RTS | UART_MCR.OUT2);
  for (const reg of [UART_REG.LSR, UART_REG.RX, UART_REG.IIR, UART_REG.MSR]) r.uart.read(reg, 1);
  w(UART_REG.LCR, UART_LCR.DLAB);
  w(UART_REG.TX, 1); // divisor latch: 115200 baud
  w(UART_REG.IER, 0);
  w(UART_REG.LCR, UART_LCR.WLEN8);
  w(UART_REG.FCR, UART_FCR.ENABLE_FIFO | UART_FCR.R_TRIG_11);
  w(UART_REG.SCR, 0x55);
  w(UART_REG.IER, UART_IER.VALID);
  const seen: number[] = [];
  for (let reg = 0; reg < UART_REG_SPAN; reg++) seen.push(r.uart.read(reg, 1));
  seen.push(r.uart.read(UART_REG.IIR, 1), r.uart.read(UART_REG.LSR, 1));
  w(UART_REG.LCR, UART_LCR.DLAB);
  seen.push(r.uart.read(UART_REG.RX, 1), r.uart.read(UART_REG.IER, 1));
  seen.push(r.levels[r.levels.length - 1] === true ? 1 : 0);
  return seen;
}

function run(ops: readonly Op[]): void {
  const r = rig();
  const expected: number[] = [];
  // The model: LCR and MCR as the guest last wrote them (byte writes to registers 3 and 4).
  let lcr = 0;
  let mcr = 0;
  for (const o of ops) {
    if (o.kind === 'input') {
      r.input.queue.push(...o.bytes);
      r.input.breaks += o.breaks;
      continue;
    }
    if (o.kind === 'poll') {
      r.uart.pollInput();
      continue;
    }
    const decoded = o.size === 1 && isRegister(o.offset);
    const quiet = { regs: quietRegisters(r.uart), out: r.output.length, levels: r.levels.length, input: r.input.queue.length };
    if (o.kind === 'read') {
      const v = r.uart.read(o.offset, o.size);
      if (decoded) assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xff, `register ${o.offset} read ${v}`);
      else assert.equal(v, o.size >= 4 ? 0xffff_ffff : o.size <= 0 ? 0 : 2 ** (8 * o.size) - 1, `undecoded read ${o.offset}+${o.size}`);
    } else {
      r.uart.write(o.offset, o.size, o.value);
      if (decoded && o.offset === UART_REG.LCR) lcr = o.value & 0xff;
      if (decoded && o.offset === UART_REG.MCR) mcr = o.value & UART_MCR.VALID;
      if (decoded && o.offset === UART_REG.TX && (lcr & UART_LCR.DLAB) === 0 && (mcr & UART_MCR.LOOP) === 0) expected.push(o.value & 0xff);
    }
    if (!decoded) {
      const now = { regs: quietRegisters(r.uart), out: r.output.length, levels: r.levels.length, input: r.input.queue.length };
      assert.deepEqual(now, quiet, `an undecoded access (${o.kind} ${o.offset}+${o.size}) had an effect`);
    }
    assert.deepEqual(r.output, expected, 'bytes sent to the host differ from the THR writes');
  }
  // Reset equivalent: no host input pending, then the driver's take-over.
  r.input.queue.length = 0;
  r.input.breaks = 0;
  assert.deepEqual(takeOver(r), takeOver(rig()), 'after a driver takes the port over, it reads differently from a fresh one');
}

export const SERIAL_TARGETS: readonly FuzzTarget[] = [fuzzTarget('8250 UART registers', 200, fc.array(op, { minLength: 1, maxLength: 60 }), run)];
