// How tsvmm writes numbers in its messages: addresses, registers and flags in
// hex ("0x1f000"), as the kernel and the specs write them.
export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}
