// A classic-BPF interpreter for seccomp programs: a test helper.
//
// It first checks a program the way the kernel would refuse it
// (bpf_check_classic() and seccomp_check_filter(): length, forward jumps that
// stay inside the program, a final return, aligned 32-bit loads inside struct
// seccomp_data, only the opcodes seccomp allows), then runs it on one
// struct seccomp_data and returns the filter's 32-bit result. Scratch memory
// (BPF_MEM/ST/STX) is not supported because nothing here emits it.

import { BPF, BPF_MAXINSNS, bpfClass, bpfOp, decode, type SockFilter } from './bpf.js';
import { SECCOMP_DATA, SECCOMP_RET } from './constants.js';

export class BpfInterpError extends Error {
}

/** The fields of struct seccomp_data a test chooses. */
export interface SeccompInput {
  /** Syscall number; stored as a signed int like the kernel's `int nr`. */
  nr: number;
  /** AUDIT_ARCH_* of the calling convention. */
  arch: number;
  instructionPointer?: bigint;
  /** Up to six u64 arguments; missing ones are 0. */
  args?: readonly bigint[];
}

const U64 = (1n << 64n) - 1n;

/** struct seccomp_data in host (little-endian) byte order. */
export function encodeSeccompData(input: SeccompInput): Buffer {
  const b = Buffer.alloc(SECCOMP_DATA.SIZE);
  b.writeInt32LE(input.nr | 0, SECCOMP_DATA.NR);
  b.writeUInt32LE(input.arch >>> 0, SECCOMP_DATA.ARCH);
  b.writeBigUInt64LE((input.instructionPointer ?? 0n) & U64, SECCOMP_DATA.INSTRUCTION_POINTER);
  const args = input.args ?? [];
  if (args.length > SECCOMP_DATA.ARG_COUNT) throw new BpfInterpError(`${args.length} arguments; a syscall has at most ${SECCOMP_DATA.ARG_COUNT}`);
  args.forEach((a, i) => b.writeBigUInt64LE(a & U64, SECCOMP_DATA.ARGS + i * SECCOMP_DATA.ARG_SIZE));
  return b;
}

/** Refuses what the kernel would refuse at install time. */
export function checkSeccompProgram(insns: readonly SockFilter[]): void {
  const n = insns.length;
  if (n === 0 || n > BPF_MAXINSNS) throw new BpfInterpError(`program length ${n} outside 1..${BPF_MAXINSNS}`);
  insns.forEach((insn, i) => {
    const cls = bpfClass(insn.code);
    if (cls === BPF.JMP) {
      const op = bpfOp(insn.code);
      const targets = op === BPF.JA ? [insn.k] : [insn.jt, insn.jf];
      for (const off of targets) {
        if (i + 1 + off >= n) throw new BpfInterpError(`jump at ${i} leaves the program (offset ${off})`);
      }
    } else if (insn.code === (BPF.LD | BPF.W | BPF.ABS)) {
      if (insn.k % 4 !== 0 || insn.k >= SECCOMP_DATA.SIZE) throw new BpfInterpError(`load at ${i} from offset ${insn.k}: not an aligned word of seccomp_data`);
    } else if (!ALLOWED_CODES.has(insn.code) && cls !== BPF.ALU) {
      throw new BpfInterpError(`opcode 0x${insn.code.toString(16)} at ${i} is not allowed in a seccomp filter`);
    }
  });
  const last = insns[n - 1] as SockFilter;
  if (bpfClass(last.code) !== BPF.RET) throw new BpfInterpError('the last instruction is not a return');
}

const ALLOWED_CODES = new Set<number>([
  BPF.LD | BPF.W | BPF.LEN,
  BPF.LDX | BPF.W | BPF.LEN,
  BPF.LD | BPF.IMM,
  BPF.LDX | BPF.IMM,
  BPF.RET | BPF.K,
  BPF.RET | BPF.A,
  BPF.MISC | BPF.TAX,
  BPF.MISC | BPF.TXA,
]);

function alu(op: number, a: number, v: number, at: number): number {
  switch (op) {
    case BPF.ADD: return (a + v) >>> 0;
    case BPF.SUB: return (a - v) >>> 0;
    case BPF.MUL: return Math.imul(a, v) >>> 0;
    case BPF.DIV: if (v === 0) return DIVIDE_BY_ZERO; return Math.floor(a / v) >>> 0;
    case BPF.MOD: if (v === 0) return DIVIDE_BY_ZERO; return a % v;
    case BPF.OR: return (a | v) >>> 0;
    case BPF.AND: return (a & v) >>> 0;
    case BPF.XOR: return (a ^ v) >>> 0;
    case BPF.LSH: return v >= 32 ? 0 : (a << v) >>> 0;
    case BPF.RSH: return v >= 32 ? 0 : a >>> v;
    case BPF.NEG: return -a >>> 0;
    default: throw new BpfInterpError(`unknown ALU operation 0x${op.toString(16)} at ${at}`);
  }
}

/** Marks a division by zero, which makes the classic interpreter return 0. */
const DIVIDE_BY_ZERO = -1;

function jump(op: number, a: number, v: number, at: number): boolean {
  switch (op) {
    case BPF.JEQ: return a === v;
    case BPF.JGT: return a > v;
    case BPF.JGE: return a >= v;
    case BPF.JSET: return (a & v) !== 0;
    default: throw new BpfInterpError(`unknown jump operation 0x${op.toString(16)} at ${at}`);
  }
}

/**
 * Runs an encoded seccomp program on one input; returns the 32-bit result
 * (compare with SECCOMP_RET_* or use `describeAction`).
 */
export function runSeccomp(program: Uint8Array, input: SeccompInput): number {
  const insns = decode(program);
  checkSeccompProgram(insns);
  const data = encodeSeccompData(input);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    const insn = insns[pc] as SockFilter;
    const cls = bpfClass(insn.code);
    if (cls === BPF.RET) return (insn.code & BPF.A) !== 0 ? a : insn.k;
    if (insn.code === (BPF.LD | BPF.W | BPF.ABS)) a = data.readUInt32LE(insn.k);
    else if (insn.code === (BPF.LD | BPF.W | BPF.LEN)) a = SECCOMP_DATA.SIZE;
    else if (insn.code === (BPF.LDX | BPF.W | BPF.LEN)) x = SECCOMP_DATA.SIZE;
    else if (insn.code === (BPF.LD | BPF.IMM)) a = insn.k;
    else if (insn.code === (BPF.LDX | BPF.IMM)) x = insn.k;
    else if (insn.code === (BPF.MISC | BPF.TAX)) x = a;
    else if (insn.code === (BPF.MISC | BPF.TXA)) a = x;
    else if (cls === BPF.ALU) {
      const r = alu(bpfOp(insn.code), a, (insn.code & BPF.X) !== 0 ? x : insn.k, pc);
      if (r === DIVIDE_BY_ZERO) return 0;
      a = r;
    } else if (cls === BPF.JMP) {
      const op = bpfOp(insn.code);
      if (op === BPF.JA) pc += insn.k;
      else pc += jump(op, a, (insn.code & BPF.X) !== 0 ? x : insn.k, pc) ? insn.jt : insn.jf;
    } else {
      throw new BpfInterpError(`unsupported opcode 0x${insn.code.toString(16)} at ${pc}`);
    }
  }
  throw new BpfInterpError('fell off the end of the program');
}

/** A readable name for a filter result, e.g. "ALLOW", "KILL_PROCESS", "ERRNO(38)". */
export function describeAction(ret: number): string {
  const action = (ret & SECCOMP_RET.ACTION_FULL) >>> 0;
  const data = ret & SECCOMP_RET.DATA;
  for (const [name, value] of Object.entries(SECCOMP_RET)) {
    if (name === 'ACTION_FULL' || name === 'DATA' || value !== action) continue;
    return name === 'ERRNO' || name === 'TRACE' || name === 'TRAP' ? `${name}(${data})` : name;
  }
  return `UNKNOWN(0x${(ret >>> 0).toString(16)})`;
}
