// Generators for what a hostile guest hands a device: addresses and lengths
// biased towards the places where checks go wrong (region edges, the holes
// between regions, 32- and 53-bit boundaries, wrap-around), and raw integers.
import fc from 'fast-check';
import { FUZZ_RAM } from './guest_ram.js';

const TWO_32 = 2n ** 32n;
const TWO_53 = 2n ** 53n;
const TWO_64 = 2n ** 64n;

/** Region starts and ends of FUZZ_RAM: the edges worth probing. */
const EDGES = FUZZ_RAM.flatMap((r) => [r.gpa, r.gpa + r.size]);

/** A 64-bit guest address, as a driver writes it into a descriptor. */
export function guestAddress(): fc.Arbitrary<bigint> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.oneof(...FUZZ_RAM.map((r) => fc.integer({ min: r.gpa, max: r.gpa + r.size - 1 }))).map(BigInt) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...EDGES), fc.integer({ min: -64, max: 64 })).map(([e, d]) => BigInt(Math.max(0, e + d))) },
    { weight: 1, arbitrary: fc.constantFrom(TWO_32 - 1n, TWO_32, TWO_53 - 16n, TWO_53, TWO_64 - 1n, TWO_64 - 0x1000n) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: TWO_64 - 1n }) },
  );
}

/** A 32-bit length: mostly small, sometimes the edge values. */
export function guestLength(): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 0, max: 64 }) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 0x2000 }) },
    { weight: 1, arbitrary: fc.constantFrom(0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0xffff_fff0) },
    { weight: 1, arbitrary: fc.nat({ max: 0xffff_ffff }) },
  );
}

export const u8 = (): fc.Arbitrary<number> => fc.nat({ max: 0xff });
export const u16 = (): fc.Arbitrary<number> => fc.nat({ max: 0xffff });
export const u32 = (): fc.Arbitrary<number> => fc.nat({ max: 0xffff_ffff });

/** An access of 1, 2 or 4 bytes with a value of that width (as the bus delivers them). */
export function sizedValue(): fc.Arbitrary<{ size: 1 | 2 | 4; value: number }> {
  return fc.constantFrom(1 as const, 2 as const, 4 as const).chain((size) => fc.record({ size: fc.constant(size), value: fc.nat({ max: 2 ** (8 * size) - 1 }) }));
}

/** OR of a random subset of `bits`, or now and then any 16-bit value. */
export function flagBits(bits: readonly number[]): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.subarray([...bits]).map((s) => s.reduce((a, b) => a | b, 0)) },
    { weight: 1, arbitrary: u16() },
  );
}
