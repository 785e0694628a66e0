import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASELINE_CLEAR_LEAF1_ECX,
  BASELINE_CLEAR_LEAF7_EBX,
  BASELINE_CLEAR_LEAF7_ECX,
  BASELINE_MASKS,
  buildGuestCpuid,
  findCpuid,
  LEAF,
  type CpuidEntry,
} from './cpuid.js';

const ALL = 0xffff_ffff;
const entry = (fn: number, index: number, r: Partial<CpuidEntry> = {}): CpuidEntry => ({ function: fn, index, flags: 0, eax: 0, ebx: 0, ecx: 0, edx: 0, ...r });

/** A host offering everything, shaped like KVM_GET_SUPPORTED_CPUID's answer. */
function hostCpuid(): CpuidEntry[] {
  return [
    entry(0, 0, { eax: 0x1f, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 }),
    entry(1, 0, { eax: 0x906ea, ebx: 0x12345678, ecx: ALL, edx: ALL }),
    entry(4, 0, { flags: 1, eax: 0xfc004121 }),
    entry(7, 0, { flags: 1, eax: 1, ebx: ALL, ecx: ALL, edx: ALL }),
    entry(7, 1, { flags: 1, eax: 0x30 }),
    entry(0xb, 0, { flags: 1, eax: 1, ebx: 2, ecx: 0x100, edx: 7 }),
    entry(0xb, 1, { flags: 1, eax: 4, ebx: 8, ecx: 0x201, edx: 7 }),
    entry(0xd, 0, { flags: 1, eax: 0x2e7, ebx: 0x340, ecx: 0xa88, edx: 0 }),
    entry(0xd, 1, { flags: 1, eax: 0xf }),
    entry(0x8000_0000, 0, { eax: 0x8000_0008 }),
    entry(0x8000_0001, 0, { ecx: ALL, edx: ALL }),
  ];
}

const get = (entries: CpuidEntry[], fn: number, index = 0): CpuidEntry => {
  const e = findCpuid(entries, fn, index);
  assert.ok(e !== undefined, `leaf 0x${fn.toString(16)}.${index} present`);
  return e;
};

test('adds the KVM signature leaf: "KVMKVMKVM\\0\\0\\0", max leaf 0x40000001', () => {
  const out = buildGuestCpuid(hostCpuid(), { apicId: 0 });
  const sig = get(out, LEAF.KVM_SIGNATURE);
  assert.equal(sig.eax, 0x4000_0001);
  const bytes = new Uint8Array(new Uint32Array([sig.ebx, sig.ecx, sig.edx]).buffer);
  assert.equal(new TextDecoder().decode(bytes), 'KVMKVMKVM\0\0\0');
  // Replaces, does not duplicate, an existing one.
  const again = buildGuestCpuid([...hostCpuid(), entry(LEAF.KVM_SIGNATURE, 0, { eax: 0x4000_0010 })], { apicId: 0 });
  assert.equal(again.filter((e) => e.function === LEAF.KVM_SIGNATURE).length, 1);
  assert.equal(get(again, LEAF.KVM_SIGNATURE).eax, 0x4000_0001);
});

test('leaf 1: APIC id, one logical CPU, 64-byte CLFLUSH, hypervisor bit, HTT clear', () => {
  const out = buildGuestCpuid(hostCpuid(), { apicId: 3 });
  const l1 = get(out, 1);
  assert.equal(l1.ebx >>> 24, 3);
  assert.equal((l1.ebx >>> 16) & 0xff, 1);
  assert.equal((l1.ebx >>> 8) & 0xff, 8);
  assert.equal(l1.ebx & 0xff, 0x78, 'brand index kept');
  assert.equal(l1.ecx >>> 31, 1);
  assert.equal((l1.edx >>> 28) & 1, 0);
  assert.equal(l1.eax, 0x906ea, 'signature untouched');
  assert.equal(get(out, 4).eax & 0xffff_c000, 0, 'leaf 4: one core and thread per cache');
  assert.equal(get(out, 4).eax & 0x3fff, 0x0121, 'leaf 4 cache type/level kept');
});

test('leaf 0xB: SMT and core levels of one, then invalid; EDX is the x2APIC id', () => {
  const out = buildGuestCpuid([...hostCpuid(), entry(0xb, 2, { flags: 1, ecx: 0x502 })], { apicId: 5 });
  assert.deepEqual(
    [0, 1, 2].map((i) => {
      const e = get(out, 0xb, i);
      return [e.eax, e.ebx, e.ecx, e.edx, e.flags];
    }),
    [
      [0, 1, 0x100, 5, 1],
      [0, 1, 0x201, 5, 1],
      [0, 0, 0x002, 5, 1],
    ],
  );
});

test('host template keeps what KVM offers and does not modify its input', () => {
  const input = hostCpuid();
  const snapshot = JSON.stringify(input);
  const out = buildGuestCpuid(input, { apicId: 0, template: 'host' });
  assert.equal(JSON.stringify(input), snapshot);
  assert.equal(get(out, 1).ecx, ALL >>> 0);
  assert.equal(get(out, 7).ebx, ALL >>> 0);
  assert.equal(get(out, 0xd).eax, 0x2e7);
});

test('baseline template clears the named instruction-set bits and keeps the rest', () => {
  const out = buildGuestCpuid(hostCpuid(), { apicId: 0, template: 'baseline' });
  const l1 = get(out, 1);
  const l7 = get(out, 7);
  const bit = (v: number, mask: number): boolean => (v & mask) !== 0;
  for (const [name, mask] of Object.entries(BASELINE_CLEAR_LEAF1_ECX)) assert.equal(bit(l1.ecx, mask), false, name);
  for (const [name, mask] of Object.entries(BASELINE_CLEAR_LEAF7_EBX)) assert.equal(bit(l7.ebx, mask), false, name);
  for (const [name, mask] of Object.entries(BASELINE_CLEAR_LEAF7_ECX)) assert.equal(bit(l7.ecx, mask), false, name);
  // Named in the task: spot-check the raw bit positions from the SDM.
  assert.equal(bit(l1.ecx, 1 << 13), false, 'CMPXCHG16B');
  assert.equal(bit(l1.ecx, 1 << 26), false, 'XSAVE');
  assert.equal(bit(l1.ecx, 1 << 27), false, 'OSXSAVE');
  assert.equal(bit(l1.ecx, 1 << 28), false, 'AVX');
  assert.equal(bit(l1.ecx, 1 << 17), false, 'PCID');
  assert.equal(bit(l1.ecx, 1 << 23), false, 'POPCNT');
  assert.equal(bit(l7.ebx, 1 << 5), false, 'AVX2');
  assert.equal(bit(l7.ebx, 1 << 16), false, 'AVX512F');
  assert.equal(bit(l7.ebx, 1 << 10), false, 'INVPCID');
  assert.equal(bit(l7.ebx, 1 << 0), false, 'FSGSBASE');
  // Kept: baseline x86-64 and features that add no instructions.
  assert.equal(bit(l1.ecx, 1 << 21), true, 'x2APIC');
  assert.equal(bit(l1.ecx, 1 << 31), true, 'hypervisor');
  assert.equal(bit(l1.edx, 1 << 26), true, 'SSE2');
  assert.equal(bit(l1.edx, 1 << 25), true, 'SSE');
  assert.equal(bit(l7.ebx, 1 << 7), true, 'SMEP');
  assert.equal(bit(l7.edx, 1 << 26), true, 'IBRS/IBPB speculation control');
  assert.equal(l7.eax, 1, 'leaf 7 max subleaf kept');
  assert.deepEqual([get(out, 7, 1).eax, get(out, 7, 1).ebx], [0, 0], 'subleaf 1 cleared');
  assert.deepEqual([get(out, 0xd).eax, get(out, 0xd, 1).eax], [0, 0], 'no XSAVE state components');
  const ext = get(out, 0x8000_0001);
  assert.equal(ext.ecx & BASELINE_MASKS.extEcx, 0);
  assert.equal(bit(ext.edx, 1 << 29), true, 'long mode kept');
  assert.equal(get(out, 0).eax, 0x1f, 'max leaf untouched');
});

test('per-vCPU CPUID for 4 vCPUs: each its own APIC id in leaf 1 and leaf 0xB, the same topology (a package each)', () => {
  const input = [...hostCpuid(), entry(0x1f, 0, { flags: 1 }), entry(0x1f, 1, { flags: 1 })];
  const all = [0, 1, 2, 3].map((apicId) => buildGuestCpuid(input, { apicId }));
  for (const [apicId, out] of all.entries()) {
    const leaf1 = findCpuid(out, LEAF.FEATURES)!;
    assert.equal(leaf1.ebx >>> 24, apicId, 'leaf 1 EBX 31:24');
    assert.equal((leaf1.ebx >>> 16) & 0xff, 1, 'one logical processor per package');
    assert.equal(leaf1.edx & (1 << 28), 0, 'HTT clear');
    for (const leaf of [LEAF.TOPOLOGY, LEAF.TOPOLOGY_V2]) {
      assert.equal(findCpuid(out, leaf, 0)!.edx, apicId, `leaf 0x${leaf.toString(16)}.0 EDX: the x2APIC id`);
      assert.equal(findCpuid(out, leaf, 1)!.edx, apicId, `leaf 0x${leaf.toString(16)}.1 EDX: the x2APIC id`);
      assert.equal(findCpuid(out, leaf, 1)!.ebx, 1, 'one core at the core level');
    }
  }
});

test('rejects impossible APIC ids', () => {
  assert.throws(() => buildGuestCpuid(hostCpuid(), { apicId: 255 }), RangeError);
  assert.throws(() => buildGuestCpuid(hostCpuid(), { apicId: -1 }), RangeError);
});
