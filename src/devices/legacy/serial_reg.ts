// Register map of the 8250/16450/16550A UART, as the Linux kernel names it in
// include/uapi/linux/serial_reg.h (values checked against the National
// Semiconductor PC16550D datasheet). Only data lives here; the device model is
// serial8250.ts.

/** Register offsets from the UART base (serial_reg.h `UART_RX` ... `UART_SCR`). */
export const UART_REG = {
  /** Receive buffer (read, DLAB=0). */
  RX: 0,
  /** Transmit holding register (write, DLAB=0). */
  TX: 0,
  /** Divisor latch, low byte (DLAB=1). */
  DLL: 0,
  /** Divisor latch, high byte (DLAB=1). */
  DLM: 1,
  /** Interrupt enable (DLAB=0). */
  IER: 1,
  /** Interrupt identification (read). */
  IIR: 2,
  /** FIFO control (write). */
  FCR: 2,
  /** Enhanced feature register of 16650+ parts, at the IIR/FCR offset when LCR=0xBF. A 16550A has none. */
  EFR: 2,
  /** Line control. */
  LCR: 3,
  /** Modem control. */
  MCR: 4,
  /** Line status. */
  LSR: 5,
  /** Modem status. */
  MSR: 6,
  /** Scratch register (absent on the original 8250). */
  SCR: 7,
} as const;

/** Number of byte registers the UART decodes (8 consecutive ports: COM1 is 0x3f8-0x3ff). */
export const UART_REG_SPAN = 8;

/** IER bits (serial_reg.h `UART_IER_*`). */
export const UART_IER = {
  /** Enable receiver data available (and character timeout) interrupt. */
  RDI: 0x01,
  /** Enable transmitter holding register empty interrupt. */
  THRI: 0x02,
  /** Enable receiver line status interrupt. */
  RLSI: 0x04,
  /** Enable modem status interrupt. */
  MSI: 0x08,
  /** XScale "UART unit enable"; Linux probes it to tell XScale ports apart. */
  UUE: 0x40,
  /** Bits a 16550A implements; bits 4-7 read as 0 (PC16550D datasheet, IER). */
  VALID: 0x0f,
} as const;

/** IIR values (serial_reg.h `UART_IIR_*`). */
export const UART_IIR = {
  /** No interrupt pending (bit 0 is active low). */
  NO_INT: 0x01,
  /** Mask of the interrupt identification bits 1-3. */
  ID: 0x0e,
  /** Modem status changed (priority 4, lowest). */
  MSI: 0x00,
  /** Transmitter holding register empty (priority 3). */
  THRI: 0x02,
  /** Received data available at the trigger level (priority 2). */
  RDI: 0x04,
  /** Receiver line status: overrun, parity, framing, break (priority 1, highest). */
  RLSI: 0x06,
  /** Character timeout: data below the trigger level (priority 2, FIFO mode only). */
  RX_TIMEOUT: 0x0c,
  /** Bits 7:6 read 11 when the FIFOs are enabled (`UART_IIR_FIFO_ENABLED_16550A`). */
  FIFO_ENABLED_16550A: 0xc0,
  /** Bit 5: set only by a 16750 with its 64-byte FIFO enabled (`UART_IIR_64BYTE_FIFO`). */
  FIFO_64BYTE: 0x20,
} as const;

/** FCR bits (serial_reg.h `UART_FCR_*`). */
export const UART_FCR = {
  ENABLE_FIFO: 0x01,
  CLEAR_RCVR: 0x02,
  CLEAR_XMIT: 0x04,
  DMA_SELECT: 0x08,
  /** 16750 only: 64-byte FIFO (`UART_FCR7_64BYTE`); a 16550A ignores it. */
  FIFO_64BYTE: 0x20,
  /** Receiver trigger level field, bits 7:6 (`UART_FCR_TRIGGER_MASK`). */
  TRIGGER_MASK: 0xc0,
  TRIGGER_SHIFT: 6,
  /** `UART_FCR_R_TRIG_00`..`_11`: 1, 4, 8 and 14 bytes on a 16550A. */
  R_TRIG_00: 0x00,
  R_TRIG_01: 0x40,
  R_TRIG_10: 0x80,
  R_TRIG_11: 0xc0,
} as const;

/** Receiver trigger level in bytes, indexed by FCR bits 7:6 (PC16550D datasheet, FCR). */
export const UART_RX_TRIGGER_BYTES = [1, 4, 8, 14] as const;

/** LCR bits (serial_reg.h `UART_LCR_*`). */
export const UART_LCR = {
  WLEN8: 0x03,
  /** Set break control. */
  SBC: 0x40,
  /** Divisor latch access bit. */
  DLAB: 0x80,
  /** `UART_LCR_CONF_MODE_A`: DLAB alone. */
  CONF_MODE_A: 0x80,
  /** `UART_LCR_CONF_MODE_B`: the magic value that exposes the EFR on 16650+ parts. */
  CONF_MODE_B: 0xbf,
} as const;

/** MCR bits (serial_reg.h `UART_MCR_*`). */
export const UART_MCR = {
  DTR: 0x01,
  RTS: 0x02,
  OUT1: 0x04,
  /** On PC boards OUT2 enables the IRQ line driver; see serial8250.ts. */
  OUT2: 0x08,
  LOOP: 0x10,
  /** Bits a 16550A implements; bits 5-7 read as 0 (PC16550D datasheet, MCR). */
  VALID: 0x1f,
} as const;

/** LSR bits (serial_reg.h `UART_LSR_*`). */
export const UART_LSR = {
  /** Receiver data ready. */
  DR: 0x01,
  /** Overrun error. */
  OE: 0x02,
  /** Parity error. */
  PE: 0x04,
  /** Framing error. */
  FE: 0x08,
  /** Break interrupt. */
  BI: 0x10,
  /** Transmit holding register empty. */
  THRE: 0x20,
  /** Transmitter empty (holding and shift register). */
  TEMT: 0x40,
  /** Error somewhere in the RX FIFO. */
  FIFOE: 0x80,
} as const;

/** MSR bits (serial_reg.h `UART_MSR_*`). */
export const UART_MSR = {
  /** Delta clear to send. */
  DCTS: 0x01,
  /** Delta data set ready. */
  DDSR: 0x02,
  /** Trailing edge ring indicator (RI went from on to off). */
  TERI: 0x04,
  /** Delta data carrier detect. */
  DDCD: 0x08,
  CTS: 0x10,
  DSR: 0x20,
  RI: 0x40,
  DCD: 0x80,
  /** `UART_MSR_ANY_DELTA`: bits 3:0. */
  ANY_DELTA: 0x0f,
} as const;

/** Where the PC puts the first serial port: arch/x86/include/asm/serial.h `SERIAL_PORT_DFNS` (0x3f8, IRQ 4). */
export const PC_COM1 = { base: 0x3f8, irq: 4, span: UART_REG_SPAN } as const;

/** Depth of the 16550A receive FIFO (PC16550D datasheet; `uart_config[PORT_16550A].fifo_size` in 8250_port.c). */
export const RX_FIFO_DEPTH = 16;

/**
 * Divisor latch after reset: 12, i.e. 9600 baud from the PC's 1.8432 MHz
 * clock (115200 / 12). Real parts leave it undefined; firmware and Linux
 * always program it before use.
 */
export const DEFAULT_DIVISOR = 12;
