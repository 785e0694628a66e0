// The 16550A-compatible 8250 UART (the PC's COM ports) as a pure state machine.
//
// Like rust-vmm vm-superio's serial, the model owns no fd, thread or timer:
// its interrupt line, its output sink and its input source are handed in, so
// a unit test drives it through `read`/`write` exactly as a guest would.
//
// What is modelled, and how it departs from silicon:
// - Transmission is instantaneous: a THR write hands the byte to `output` (or,
//   in loopback, to the receiver) at once, so LSR.THRE and LSR.TEMT always
//   read 1 and the transmit FIFO is always empty.
// - The receiver has the 16550A's 16-byte FIFO (1-byte holding register with
//   FIFOs off). Bytes from the host are pulled only while there is room, so
//   host input never overruns; overrun (LSR.OE) happens in loopback, where the
//   guest itself can feed the receiver faster than it drains it.
// - There is no clock, so the character timeout counts as already expired:
//   in FIFO mode, data below the trigger level is reported as a timeout
//   interrupt (IIR 0x0c) and data at or above it as RDA (IIR 0x04). Both have
//   the same priority and Linux services both the same way; no byte is ever
//   stranded below the trigger level.
// - No parity, framing or break errors ever occur; word length, stop bits,
//   parity and the divisor are stored and read back but change nothing.
// - Outside loopback the modem inputs read as carrier, data set ready and
//   clear to send asserted (a null-modem cable to an always-ready host).
//
// Linux's autoconfig() identifies this model as a 16550A; the test file
// serial8250_autoconfig.test.ts replays the driver's probe step by step.

import type { BusDevice } from '../../bus/bus.js';
import {
  UART_FCR,
  UART_IER,
  UART_IIR,
  UART_LCR,
  UART_LSR,
  UART_MCR,
  UART_MSR,
  UART_REG,
  UART_REG_SPAN,
  UART_RX_TRIGGER_BYTES,
  RX_FIFO_DEPTH,
  DEFAULT_DIVISOR,
} from './serial_reg.js';

export { PC_COM1, RX_FIFO_DEPTH } from './serial_reg.js';

/** Modem inputs outside loopback: carrier detect, data set ready, clear to send. */
const MODEM_INPUTS_READY = UART_MSR.DCD | UART_MSR.DSR | UART_MSR.CTS;

export interface SerialInput {
  /** bytes waiting on the host side */
  available(): number;
  /** next byte; called only when available() > 0 */
  take(): number;
  /**
   * True, once, when the host sent a BREAK before the next byte (tsvmm's
   * Ctrl-A b). The UART receives it as a 0 character with LSR.BI, which Linux
   * turns into a Magic SysRq prefix on a serial console.
   */
  takeBreak?(): boolean;
}

export interface SerialOptions {
  irq: (level: boolean) => void;
  output: (byte: number) => void;
  input?: SerialInput;
}

/** The value a read of `size` bytes returns when nothing decodes it (all ones, as on the bus). */
function allOnes(size: number): number {
  return size >= 4 ? 0xffffffff : size <= 0 ? 0 : (1 << (size * 8)) - 1;
}

/** True for an integer offset 0..7 (rejects NaN, fractions and negatives). */
function isRegister(offset: number): boolean {
  return offset >>> 0 === offset && offset < UART_REG_SPAN;
}

export class Serial8250 implements BusDevice {
  private readonly setIrq: (level: boolean) => void;
  private readonly emit: (byte: number) => void;
  private readonly input: SerialInput | undefined;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private dll = DEFAULT_DIVISOR & 0xff;
  private dlm = DEFAULT_DIVISOR >>> 8;
  private fifoEnabled = false;
  private triggerLevel: number = UART_RX_TRIGGER_BYTES[0];
  /** LSR.OE, latched until the guest reads LSR. */
  private overrun = false;
  /**
   * The THRE interrupt condition. Set when the holding register becomes empty
   * (here: right after every THR write) and when IER.THRI is switched on;
   * cleared by an IIR read that reports it (PC16550D datasheet, table of
   * interrupt control functions).
   */
  private threPending = false;
  /** MSR delta bits 3:0, cleared by an MSR read. */
  private msrDelta = 0;
  /** Level last driven on the interrupt line. */
  private line = false;

  // Receive FIFO as a ring; its capacity is 1 with FIFOs off (16450 mode).
  private readonly rx = new Uint8Array(RX_FIFO_DEPTH);
  /** 1 where the FIFO entry is a received BREAK (a 0 character with BI); cleared once LSR reports it. */
  private readonly rxBreak = new Uint8Array(RX_FIFO_DEPTH);
  private rxHead = 0;
  private rxCount = 0;

  constructor(opts: SerialOptions) {
    this.setIrq = opts.irq;
    this.emit = opts.output;
    this.input = opts.input;
  }

  /** True when the guest has enabled the RDA interrupt (IER bit 0). */
  get rxInterruptEnabled(): boolean {
    return (this.ier & UART_IER.RDI) !== 0;
  }

  /**
   * Reads register `offset` (0..7). The UART has byte-wide registers only:
   * an access of any other size, or outside 0..7, is not decoded. It reads as
   * all ones (like an unclaimed bus address) and has no side effect, so a
   * wide read cannot silently drain the FIFO or clear a pending interrupt.
   */
  read(offset: number, size: number): number {
    if (size !== 1 || !isRegister(offset)) return allOnes(size);
    const dlab = (this.lcr & UART_LCR.DLAB) !== 0;
    switch (offset) {
      case UART_REG.RX:
        return dlab ? this.dll : this.readRbr();
      case UART_REG.IER:
        return dlab ? this.dlm : this.ier;
      case UART_REG.IIR:
        // Not affected by DLAB or LCR=0xBF: a 16550A has no EFR, so Linux's
        // EFR probes read the IIR, whose FIFO bits make them non-zero.
        return this.readIir();
      case UART_REG.LCR:
        return this.lcr;
      case UART_REG.MCR:
        return this.mcr;
      case UART_REG.LSR:
        return this.readLsr();
      case UART_REG.MSR:
        return this.readMsr();
      default:
        return this.scr;
    }
  }

  /** Writes register `offset` (0..7). Accesses of size other than 1, or outside 0..7, are ignored (see `read`). */
  write(offset: number, size: number, value: number): void {
    if (size !== 1 || !isRegister(offset)) return;
    const v = value & 0xff;
    const dlab = (this.lcr & UART_LCR.DLAB) !== 0;
    switch (offset) {
      case UART_REG.TX:
        if (dlab) this.dll = v;
        else this.writeThr(v);
        break;
      case UART_REG.IER:
        if (dlab) this.dlm = v;
        else this.writeIer(v);
        break;
      case UART_REG.FCR:
        // FCR even when LCR=0xBF: the write Linux means for a 16650's EFR
        // lands here, as it does on a real 16550A.
        this.writeFcr(v);
        break;
      case UART_REG.LCR:
        this.lcr = v;
        break;
      case UART_REG.MCR:
        this.writeMcr(v);
        break;
      case UART_REG.LSR:
      case UART_REG.MSR:
        // Read-only status; writes are a factory test mode on some parts. Ignored.
        break;
      default:
        this.scr = v;
        break;
    }
    this.updateIrq();
  }

  /** The host has (maybe) new input: pull from `input` into the RX FIFO while there is room, then update the interrupt line. */
  pollInput(): void {
    this.pull();
    this.updateIrq();
  }

  // ---- register side effects -------------------------------------------

  private readRbr(): number {
    if (this.rxCount === 0) this.pull();
    let byte = 0;
    if (this.rxCount > 0) {
      byte = this.rx[this.rxHead] ?? 0;
      this.rxBreak[this.rxHead] = 0;
      this.rxHead = (this.rxHead + 1) % RX_FIFO_DEPTH;
      this.rxCount--;
    }
    this.pull();
    this.updateIrq();
    return byte;
  }

  private readIir(): number {
    this.pull();
    const id = this.pendingInterrupt();
    // Reading the IIR clears a THRE interrupt only when THRE is what it reports.
    if (id === UART_IIR.THRI) this.threPending = false;
    this.updateIrq();
    return this.fifoEnabled ? id | UART_IIR.FIFO_ENABLED_16550A : id;
  }

  private readLsr(): number {
    this.pull();
    let lsr: number = UART_LSR.THRE | UART_LSR.TEMT;
    if (this.rxCount > 0) lsr |= UART_LSR.DR;
    if (this.overrun) lsr |= UART_LSR.OE;
    // BI belongs to the character at the top of the FIFO (PC16550D: errors
    // are revealed when their character is next to be read).
    if (this.breakAtTop()) lsr |= UART_LSR.BI;
    this.overrun = false; // reading LSR clears the error bits and the RLS interrupt
    this.rxBreak[this.rxHead] = 0;
    this.updateIrq();
    return lsr;
  }

  private readMsr(): number {
    const msr = this.modemInputs() | this.msrDelta;
    this.msrDelta = 0;
    this.updateIrq();
    return msr;
  }

  private writeThr(byte: number): void {
    if (this.mcr & UART_MCR.LOOP) this.receive(byte);
    else this.emit(byte);
    // The byte left at once: the holding register is empty again, which
    // re-arms the THRE interrupt a previous IIR read cleared.
    this.threPending = true;
  }

  private writeIer(value: number): void {
    const old = this.ier;
    this.ier = value & UART_IER.VALID;
    // Switching THRI on while the holding register is empty raises THRE
    // again. Linux depends on this: its UART_BUG_THRE test writes IER=THRI,
    // 0, THRI and expects the second IIR read to show THRE again, and
    // __start_tx() starts transmission by setting THRI alone.
    if (!(old & UART_IER.THRI) && this.ier & UART_IER.THRI) this.threPending = true;
    this.pull();
  }

  private writeFcr(value: number): void {
    const enable = (value & UART_FCR.ENABLE_FIFO) !== 0;
    if (enable !== this.fifoEnabled) {
      // Switching between FIFO and 16450 mode empties the FIFOs.
      this.fifoEnabled = enable;
      this.rxClear();
    }
    if (enable) {
      // The other bits are programmed only together with ENABLE_FIFO.
      if (value & UART_FCR.CLEAR_RCVR) this.rxClear();
      // CLEAR_XMIT: the transmit FIFO is always empty here. DMA_SELECT and the
      // 16750's 64-byte bit have no effect on a 16550A.
      const t = (value & UART_FCR.TRIGGER_MASK) >>> UART_FCR.TRIGGER_SHIFT;
      this.triggerLevel = UART_RX_TRIGGER_BYTES[t] ?? UART_RX_TRIGGER_BYTES[0];
    }
    this.pull();
  }

  private writeMcr(value: number): void {
    const before = this.modemInputs();
    this.mcr = value & UART_MCR.VALID;
    const after = this.modemInputs();
    const changed = before ^ after;
    let delta = 0;
    if (changed & UART_MSR.CTS) delta |= UART_MSR.DCTS;
    if (changed & UART_MSR.DSR) delta |= UART_MSR.DDSR;
    if (before & UART_MSR.RI && !(after & UART_MSR.RI)) delta |= UART_MSR.TERI;
    if (changed & UART_MSR.DCD) delta |= UART_MSR.DDCD;
    this.msrDelta |= delta;
    this.pull(); // leaving loopback reconnects the host input
  }

  // ---- state ---------------------------------------------------------------

  /**
   * MSR bits 7:4. In loopback the modem outputs are wired to the inputs:
   * DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD (PC16550D datasheet, MCR bit 4).
   */
  private modemInputs(): number {
    const mcr = this.mcr;
    if (!(mcr & UART_MCR.LOOP)) return MODEM_INPUTS_READY;
    let msr = 0;
    if (mcr & UART_MCR.DTR) msr |= UART_MSR.DSR;
    if (mcr & UART_MCR.RTS) msr |= UART_MSR.CTS;
    if (mcr & UART_MCR.OUT1) msr |= UART_MSR.RI;
    if (mcr & UART_MCR.OUT2) msr |= UART_MSR.DCD;
    return msr;
  }

  private rxCapacity(): number {
    return this.fifoEnabled ? RX_FIFO_DEPTH : 1;
  }

  private rxClear(): void {
    this.rxHead = 0;
    this.rxCount = 0;
    this.rxBreak.fill(0);
  }

  /** A byte arrives at the receiver (loopback). A full FIFO means overrun. */
  private receive(byte: number): void {
    if (this.rxCount < this.rxCapacity()) {
      this.rx[(this.rxHead + this.rxCount) % RX_FIFO_DEPTH] = byte;
      this.rxBreak[(this.rxHead + this.rxCount) % RX_FIFO_DEPTH] = 0;
      this.rxCount++;
      return;
    }
    this.overrun = true;
    // 16550A FIFO mode: the FIFO keeps its data and the new character is lost.
    // 16450 mode: the new character overwrites the one in the holding register.
    if (!this.fifoEnabled) this.rx[this.rxHead] = byte;
  }

  /**
   * Moves host input into the receiver while there is room. Bounded by the
   * FIFO depth however `available()` answers. In loopback the receiver is
   * disconnected from the line, so host input waits.
   */
  private pull(): void {
    const input = this.input;
    if (input === undefined || this.mcr & UART_MCR.LOOP) return;
    const capacity = this.rxCapacity();
    while (this.rxCount < capacity) {
      const brk = input.takeBreak?.() === true;
      if (!brk && input.available() === 0) break;
      const at = (this.rxHead + this.rxCount) % RX_FIFO_DEPTH;
      this.rx[at] = brk ? 0 : input.take() & 0xff;
      this.rxBreak[at] = brk ? 1 : 0;
      this.rxCount++;
    }
  }

  private breakAtTop(): boolean {
    return this.rxCount > 0 && this.rxBreak[this.rxHead] === 1;
  }

  /**
   * The IIR identification of the highest-priority enabled pending interrupt,
   * or NO_INT. Priority: line status > received data / timeout > THRE > modem
   * status (PC16550D datasheet, interrupt identification).
   */
  private pendingInterrupt(): number {
    const ier = this.ier;
    if (ier & UART_IER.RLSI && (this.overrun || this.breakAtTop())) return UART_IIR.RLSI;
    if (ier & UART_IER.RDI && this.rxCount > 0) {
      if (this.fifoEnabled && this.rxCount < this.triggerLevel) return UART_IIR.RX_TIMEOUT;
      return UART_IIR.RDI;
    }
    if (ier & UART_IER.THRI && this.threPending) return UART_IIR.THRI;
    if (ier & UART_IER.MSI && this.msrDelta !== 0) return UART_IIR.MSI;
    return UART_IIR.NO_INT;
  }

  /**
   * Drives the interrupt line to "an enabled interrupt is pending and OUT2 is
   * set", calling `irq` only on a change.
   *
   * Why OUT2 gates the line: on PC boards the UART's INTR pin reaches the ISA
   * IRQ only through a buffer enabled by OUT2, so drivers treat OUT2 as the
   * port's master interrupt enable. Linux's serial8250_do_startup() sets
   * TIOCM_OUT2 whenever the port has an IRQ ("Most PC uarts need OUT2 raised
   * to enable interrupts") and clears it on shutdown; autoconfig_irq() sets
   * it before probing; Xen's and FreeBSD's ns16550 drivers do the same. So a
   * guest that wants interrupts always sets OUT2, and gating keeps the line
   * quiet while the driver probes the port with IER bits set (the UART_BUG_THRE
   * test runs before the IRQ handler is installed) and after a port is closed.
   * The IIR reports pending interrupts regardless of OUT2, as the chip does.
   * The MCR bit is used in loopback too (where real boards may float the pin),
   * so interrupt-driven loopback tests work.
   */
  private updateIrq(): void {
    const level = (this.mcr & UART_MCR.OUT2) !== 0 && this.pendingInterrupt() !== UART_IIR.NO_INT;
    if (level !== this.line) {
      this.line = level;
      this.setIrq(level);
    }
  }
}
