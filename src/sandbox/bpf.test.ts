import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BPF,
  BPF_MAXINSNS,
  BpfAssembler,
  BpfJumpRangeError,
  BpfLabelError,
  BpfProgramError,
  decode,
} from './bpf.js';
import { BpfInterpError, checkSeccompProgram, runSeccomp } from './interp.fixture.js';
import { AUDIT_ARCH, SECCOMP_DATA } from './constants.js';

const X86 = AUDIT_ARCH.X86_64;

test('instructions encode as struct sock_filter with computed jump offsets', () => {
  const a = new BpfAssembler();
  a.ldAbsW(SECCOMP_DATA.NR).jeq(7, 'yes', 'no').ret(1).label('yes').ret(2).label('no').ret(3);
  const bytes = a.assemble();
  assert.equal(bytes.length, 5 * 8);
  const insns = decode(bytes);
  assert.deepEqual(insns[0], { code: BPF.LD | BPF.W | BPF.ABS, jt: 0, jf: 0, k: 0 });
  // from index 1: "yes" is index 3 (skip 1), "no" is index 4 (skip 2)
  assert.deepEqual(insns[1], { code: BPF.JMP | BPF.JEQ | BPF.K, jt: 1, jf: 2, k: 7 });
  assert.deepEqual(insns[4], { code: BPF.RET | BPF.K, jt: 0, jf: 0, k: 3 });
  assert.equal(bytes.readUInt16LE(8), 0x15); // BPF_JMP|BPF_JEQ|BPF_K
  assert.equal(runSeccomp(bytes, { nr: 7, arch: X86 }), 2);
  assert.equal(runSeccomp(bytes, { nr: 8, arch: X86 }), 3);
});

test('a conditional jump reaches exactly 255 instructions and no further', () => {
  const build = (gap: number): Buffer => {
    const a = new BpfAssembler();
    a.ldAbsW(0).jeq(1, 'far');
    for (let i = 0; i < gap; i++) a.ret(100 + i);
    return a.label('far').ret(9).assemble();
  };
  const ok = build(255);
  assert.equal(decode(ok)[1]?.jt, 255);
  assert.equal(runSeccomp(ok, { nr: 1, arch: X86 }), 9);
  assert.throws(() => build(256), (e: unknown) => e instanceof BpfJumpRangeError && /spans 256/.test(e.message));
});

test('ja carries a 32-bit offset, so it reaches past 255', () => {
  const a = new BpfAssembler();
  a.ja('end');
  for (let i = 0; i < 300; i++) a.ret(i);
  const bytes = a.label('end').ret(0xabc).assemble();
  assert.equal(decode(bytes)[0]?.k, 300);
  assert.equal(runSeccomp(bytes, { nr: 0, arch: X86 }), 0xabc);
});

test('bad labels are refused when the program is assembled', () => {
  assert.throws(() => new BpfAssembler().label('a').ret(0).jeq(0, 'a').ret(0).assemble(), BpfLabelError);
  assert.throws(() => new BpfAssembler().jeq(0, 'nowhere').ret(0).assemble(), BpfLabelError);
  assert.throws(() => new BpfAssembler().label('x').label('x'), BpfLabelError);
  assert.throws(() => new BpfAssembler().jeq(0, 'end').ret(0).label('end').assemble(), /no instruction after it/);
});

test('a program must end in a return and fit BPF_MAXINSNS', () => {
  assert.throws(() => new BpfAssembler().assemble(), BpfProgramError);
  assert.throws(() => new BpfAssembler().ret(0).ldAbsW(0).assemble(), /last instruction must be a return/);
  const a = new BpfAssembler();
  for (let i = 0; i < BPF_MAXINSNS; i++) a.ret(0);
  assert.equal(a.assemble().length, BPF_MAXINSNS * 8);
  assert.throws(() => a.ret(0), /exceeds 4096/);
});

test('constants must be 32-bit unsigned integers', () => {
  assert.throws(() => new BpfAssembler().ret(2 ** 32), BpfProgramError);
  assert.throws(() => new BpfAssembler().jeq(-1, null), BpfProgramError);
  assert.throws(() => new BpfAssembler().ldAbsW(1.5), BpfProgramError);
});

test('comparisons are unsigned, as in the kernel', () => {
  const a = new BpfAssembler();
  a.ldAbsW(SECCOMP_DATA.NR).jge(0x40000000, 'big').ret(1).label('big').ret(2);
  const bytes = a.assemble();
  assert.equal(runSeccomp(bytes, { nr: 5, arch: X86 }), 1);
  assert.equal(runSeccomp(bytes, { nr: 0x40000005, arch: X86 }), 2);
  assert.equal(runSeccomp(bytes, { nr: -1, arch: X86 }), 2);
  const s = new BpfAssembler();
  s.ldAbsW(SECCOMP_DATA.ARGS + 4).jset(0x80000000, 'set').ret(0).label('set').ret(1);
  assert.equal(runSeccomp(s.assemble(), { nr: 0, arch: X86, args: [0x8000000000000000n] }), 1);
  assert.equal(runSeccomp(s.assemble(), { nr: 0, arch: X86, args: [0x80000000n] }), 0);
});

test('the interpreter refuses what the kernel would refuse', () => {
  const raw = (insns: Array<[number, number, number, number]>): Buffer => {
    const b = Buffer.alloc(insns.length * 8);
    insns.forEach(([code, jt, jf, k], i) => {
      b.writeUInt16LE(code, i * 8);
      b.writeUInt8(jt, i * 8 + 2);
      b.writeUInt8(jf, i * 8 + 3);
      b.writeUInt32LE(k, i * 8 + 4);
    });
    return b;
  };
  const ret = BPF.RET | BPF.K;
  const input = { nr: 0, arch: X86 };
  assert.throws(() => runSeccomp(raw([[BPF.LD | BPF.W | BPF.ABS, 0, 0, 2], [ret, 0, 0, 0]]), input), /aligned/);
  assert.throws(() => runSeccomp(raw([[BPF.LD | BPF.W | BPF.ABS, 0, 0, 64], [ret, 0, 0, 0]]), input), /aligned/);
  assert.throws(() => runSeccomp(raw([[BPF.JMP | BPF.JEQ, 5, 0, 0], [ret, 0, 0, 0]]), input), /leaves the program/);
  assert.throws(() => runSeccomp(raw([[BPF.LD | BPF.W | BPF.ABS, 0, 0, 0]]), input), /not a return/);
  assert.throws(() => runSeccomp(raw([[BPF.LD | BPF.B | BPF.IND, 0, 0, 0], [ret, 0, 0, 0]]), input), /not allowed/);
  assert.throws(() => checkSeccompProgram([]), BpfInterpError);
});
