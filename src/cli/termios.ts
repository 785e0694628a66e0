// Terminal modes through TCGETS/TCSETS on the kernel's struct termios
// (asm-generic/termbits.h: four u32 flag words, c_line, c_cc[19]; 36 bytes),
// so that the supervisor can save the exact settings and put them back on
// every exit path, and raw mode is cfmakeraw(3) spelled out.
import { native } from '../native/addon.js';
import { TTY_IOCTL } from '../kvm/generated/uapi.js';

export const TERMIOS_SIZE = 36;
const OFF = { iflag: 0, oflag: 4, cflag: 8, lflag: 12, cc: 17 } as const;

/** Flag bits from asm-generic/termbits.h (same on x86_64 and arm64). */
export const TERMIOS = {
  IGNBRK: 0o1,
  BRKINT: 0o2,
  PARMRK: 0o10,
  ISTRIP: 0o40,
  INLCR: 0o100,
  IGNCR: 0o200,
  ICRNL: 0o400,
  IXON: 0o2000,
  OPOST: 0o1,
  CSIZE: 0o60,
  CS8: 0o60,
  PARENB: 0o400,
  ISIG: 0o1,
  ICANON: 0o2,
  ECHO: 0o10,
  ECHONL: 0o100,
  IEXTEN: 0o100000,
  VTIME: 5,
  VMIN: 6,
} as const;

export function getTermios(fd: number): Buffer {
  const b = Buffer.alloc(TERMIOS_SIZE);
  native.ioctl(fd, TTY_IOCTL.TCGETS, b);
  return b;
}

/** TCSETSW: applies after pending output is written, so nothing is lost. */
export function setTermios(fd: number, t: Buffer): void {
  native.ioctl(fd, TTY_IOCTL.TCSETSW, t);
}

/** cfmakeraw(3) on a copy of `t`. */
export function makeRaw(t: Buffer): Buffer {
  const r = Buffer.from(t);
  const T = TERMIOS;
  r.writeUInt32LE((r.readUInt32LE(OFF.iflag) & ~(T.IGNBRK | T.BRKINT | T.PARMRK | T.ISTRIP | T.INLCR | T.IGNCR | T.ICRNL | T.IXON)) >>> 0, OFF.iflag);
  r.writeUInt32LE((r.readUInt32LE(OFF.oflag) & ~T.OPOST) >>> 0, OFF.oflag);
  r.writeUInt32LE((r.readUInt32LE(OFF.lflag) & ~(T.ECHO | T.ECHONL | T.ICANON | T.ISIG | T.IEXTEN)) >>> 0, OFF.lflag);
  r.writeUInt32LE(((r.readUInt32LE(OFF.cflag) & ~(T.CSIZE | T.PARENB)) | T.CS8) >>> 0, OFF.cflag);
  r[OFF.cc + T.VMIN] = 1;
  r[OFF.cc + T.VTIME] = 0;
  return r;
}

export function isRaw(t: Buffer): boolean {
  const T = TERMIOS;
  return (t.readUInt32LE(OFF.lflag) & (T.ICANON | T.ECHO | T.ISIG)) === 0 && (t.readUInt32LE(OFF.oflag) & T.OPOST) === 0;
}
