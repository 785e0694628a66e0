// A classic-BPF assembler: named opcodes, symbolic labels, computed jumps.
//
// Nothing is hand-counted. Jumps name a label; assemble() turns each into the
// offset the kernel wants (instructions to skip after the jump). Classic BPF
// only jumps forward, and a conditional jump holds its offsets in 8 bits, so:
//   - a backward jump, an undefined label or a label with no instruction after
//     it is an error;
//   - a conditional jump further than 255 instructions is an error
//     (BpfJumpRangeError). We do not insert trampolines silently: the program
//     builder lays code out so conditional jumps stay local and reaches far
//     blocks with `ja`, whose offset is 32 bits wide.
// The program must end in a return and fit BPF_MAXINSNS, as the kernel's
// bpf_check_classic() demands; both are checked here so a bad program fails
// when it is built, not when it is installed.
import { TsvmmError } from '../base/errors.js';

/** Opcode fields (include/uapi/linux/bpf_common.h, filter.h). */
export const BPF = {
  // instruction classes
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  // load sizes
  W: 0x00,
  H: 0x08,
  B: 0x10,
  // load modes
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  MSH: 0xa0,
  // ALU operations
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  // jump operations
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  // operand source: the constant k, the X register, or (for RET) A
  K: 0x00,
  X: 0x08,
  A: 0x10,
  // BPF_MISC operations (filter.h)
  TAX: 0x00,
  TXA: 0x80,
} as const;

/** The class of an opcode (BPF_CLASS in bpf_common.h). */
export function bpfClass(code: number): number {
  return code & 0x07;
}

/** The operation of an ALU or JMP opcode (BPF_OP). */
export function bpfOp(code: number): number {
  return code & 0xf0;
}

/** Longest program the kernel accepts (include/uapi/linux/bpf_common.h). */
export const BPF_MAXINSNS = 4096;

/** Furthest a conditional jump can reach: jt and jf are __u8. */
export const BPF_MAX_COND_JUMP = 255;

/** sizeof(struct sock_filter): __u16 code, __u8 jt, __u8 jf, __u32 k. */
export const SOCK_FILTER_SIZE = 8;

/** One decoded struct sock_filter. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export class BpfLabelError extends TsvmmError {
}

export class BpfJumpRangeError extends TsvmmError {
}

export class BpfProgramError extends TsvmmError {
}

/** A jump target: a label name, or null to fall through to the next instruction. */
export type Target = string | null;

interface Pending {
  code: number;
  k: number;
  /** Conditional jumps: labels for true/false; `ja`: jt holds its label. */
  jt: Target;
  jf: Target;
}

type CondOp = typeof BPF.JEQ | typeof BPF.JGT | typeof BPF.JGE | typeof BPF.JSET;

function checkU32(k: number, what: string): number {
  if (!Number.isInteger(k) || k < 0 || k > 0xffffffff) throw new BpfProgramError(`${what}: ${k} is not a 32-bit unsigned constant`);
  return k;
}

/** Builds a program instruction by instruction; assemble() resolves labels. */
export class BpfAssembler {
  private readonly insns: Pending[] = [];
  private readonly labels = new Map<string, number>();

  /** Instructions emitted so far. */
  get length(): number {
    return this.insns.length;
  }

  /** Binds `name` to the next instruction emitted. */
  label(name: string): this {
    if (this.labels.has(name)) throw new BpfLabelError(`label "${name}" defined twice`);
    this.labels.set(name, this.insns.length);
    return this;
  }

  /** A = the 32-bit word at `offset` of the input (BPF_LD|BPF_W|BPF_ABS). */
  ldAbsW(offset: number): this {
    return this.emit(BPF.LD | BPF.W | BPF.ABS, checkU32(offset, 'ld offset'), null, null);
  }

  /** if (A == k) goto onTrue else goto onFalse. */
  jeq(k: number, onTrue: Target, onFalse: Target = null): this {
    return this.cond(BPF.JEQ, k, onTrue, onFalse);
  }

  /** if (A > k) (unsigned) goto onTrue else goto onFalse. */
  jgt(k: number, onTrue: Target, onFalse: Target = null): this {
    return this.cond(BPF.JGT, k, onTrue, onFalse);
  }

  /** if (A >= k) (unsigned) goto onTrue else goto onFalse. */
  jge(k: number, onTrue: Target, onFalse: Target = null): this {
    return this.cond(BPF.JGE, k, onTrue, onFalse);
  }

  /** if (A & k) goto onTrue else goto onFalse. */
  jset(k: number, onTrue: Target, onFalse: Target = null): this {
    return this.cond(BPF.JSET, k, onTrue, onFalse);
  }

  /** Unconditional jump; its 32-bit offset reaches anywhere in a program. */
  ja(target: string): this {
    return this.emit(BPF.JMP | BPF.JA, 0, target, null);
  }

  /** Return the constant k (for seccomp: a SECCOMP_RET_* value). */
  ret(k: number): this {
    return this.emit(BPF.RET | BPF.K, checkU32(k, 'ret value'), null, null);
  }

  /** Resolves labels and encodes struct sock_filter entries (host byte order, little-endian). */
  assemble(): Buffer {
    const n = this.insns.length;
    if (n === 0) throw new BpfProgramError('empty program');
    if (n > BPF_MAXINSNS) throw new BpfProgramError(`program has ${n} instructions; the kernel accepts at most ${BPF_MAXINSNS}`);
    const last = this.insns[n - 1];
    if (last === undefined || bpfClass(last.code) !== BPF.RET) throw new BpfProgramError('the last instruction must be a return');
    for (const [name, at] of this.labels) {
      if (at >= n) throw new BpfLabelError(`label "${name}" has no instruction after it`);
    }
    const out = Buffer.alloc(n * SOCK_FILTER_SIZE);
    for (let i = 0; i < n; i++) {
      const insn = this.insns[i] as Pending;
      let jt = 0;
      let jf = 0;
      let k = insn.k;
      if (insn.code === (BPF.JMP | BPF.JA)) {
        k = this.offset(i, insn.jt, Number.MAX_SAFE_INTEGER);
      } else if (bpfClass(insn.code) === BPF.JMP) {
        jt = this.offset(i, insn.jt, BPF_MAX_COND_JUMP);
        jf = this.offset(i, insn.jf, BPF_MAX_COND_JUMP);
      }
      const at = i * SOCK_FILTER_SIZE;
      out.writeUInt16LE(insn.code, at);
      out.writeUInt8(jt, at + 2);
      out.writeUInt8(jf, at + 3);
      out.writeUInt32LE(k, at + 4);
    }
    return out;
  }

  private cond(op: CondOp, k: number, onTrue: Target, onFalse: Target): this {
    return this.emit(BPF.JMP | op | BPF.K, checkU32(k, 'jump constant'), onTrue, onFalse);
  }

  private emit(code: number, k: number, jt: Target, jf: Target): this {
    if (this.insns.length >= BPF_MAXINSNS) {
      throw new BpfProgramError(`program exceeds ${BPF_MAXINSNS} instructions`);
    }
    this.insns.push({ code, k, jt, jf });
    return this;
  }

  /** Instructions to skip from the jump at `from` to reach `target`. */
  private offset(from: number, target: Target, max: number): number {
    if (target === null) return 0;
    const to = this.labels.get(target);
    if (to === undefined) throw new BpfLabelError(`jump at ${from} to undefined label "${target}"`);
    const off = to - (from + 1);
    if (off < 0) throw new BpfLabelError(`jump at ${from} to label "${target}" at ${to} goes backwards; classic BPF jumps only forward`);
    if (off > max) {
      throw new BpfJumpRangeError(`jump at ${from} to label "${target}" spans ${off} instructions; a conditional jump reaches at most ${max}`);
    }
    return off;
  }
}

/** Splits encoded sock_filter entries back into fields. */
export function decode(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % SOCK_FILTER_SIZE !== 0) {
    throw new BpfProgramError(`program length ${bytes.length} is not a multiple of ${SOCK_FILTER_SIZE}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SockFilter[] = [];
  for (let at = 0; at < bytes.length; at += SOCK_FILTER_SIZE) {
    out.push({
      code: view.getUint16(at, true),
      jt: view.getUint8(at + 2),
      jf: view.getUint8(at + 3),
      k: view.getUint32(at + 4, true),
    });
  }
  return out;
}
