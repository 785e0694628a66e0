#!/usr/bin/env node
// Extracts the uncompressed vmlinux (ELF) from a bzImage.
// Usage: node scripts/extract-vmlinux.mjs <bzImage> <vmlinux-out>
// Needs `npm run build` first (it calls the compiled src/loader/extract_vmlinux.js).
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output] = process.argv.slice(2);
if (input === undefined || output === undefined) {
  console.error('usage: extract-vmlinux.mjs <bzImage> <vmlinux-out>');
  process.exit(2);
}
try {
  const { extractVmlinux } = await import('../dist/src/loader/extract_vmlinux.js');
  const vmlinux = await extractVmlinux(new Uint8Array(readFileSync(input)));
  writeFileSync(output, vmlinux);
  console.log(`${output}: ${vmlinux.length} bytes`);
} catch (err) {
  console.error(`extract-vmlinux: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
