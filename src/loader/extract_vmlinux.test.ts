import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { GuestMemory } from '../memory/guest_memory.js';
import { parseBzImage, type Payload } from './bzimage.js';
import { EM, loadElf, parseElf64 } from './elf.js';
import { KernelFormatError } from './errors.js';
import { decompressPayload, DECOMPRESSORS, ExtractError, extractVmlinux } from './extract_vmlinux.js';
import { debianBzImagePath, mockBzImage, mockElf, NO_DEBIAN_KERNEL, withSizeTrailer } from './images.fixture.js';

const vmlinux = mockElf({ segments: [{ paddr: 0x1000000n, data: new Uint8Array(4096).fill(0x90), memsz: 8192 }] });

/** Compresses with a system tool, or returns undefined when it is not installed. */
function compressWith(cmd: string, args: string[], input: Uint8Array): Uint8Array | undefined {
  const r = spawnSync(cmd, args, { input });
  if (r.error !== undefined || r.status !== 0) return undefined;
  return new Uint8Array(r.stdout);
}

test('extracts a gzip payload (gzip carries its own size as the trailer)', async () => {
  const img = mockBzImage({ payload: new Uint8Array(gzipSync(vmlinux)) });
  const out = await extractVmlinux(img);
  assert.deepEqual(out, new Uint8Array(vmlinux));
  assert.equal(parseElf64(out).machine, EM.X86_64);
});

const tools: Array<[string, string, string[]]> = [
  ['xz', 'xz', ['-c', '--check=crc32']],
  ['zstd', 'zstd', ['-c', '-q']],
  ['lz4', 'lz4', ['-l', '-c', '-q']],
  ['bzip2', 'bzip2', ['-c']],
  ['lzma', 'xz', ['--format=lzma', '-c']],
];
for (const [format, cmd, args] of tools) {
  test(`extracts a ${format} payload with the system tool`, async (t) => {
    const stream = compressWith(cmd, args, vmlinux);
    if (stream === undefined) return t.skip(`${cmd} is not installed`);
    const bz = parseBzImage(mockBzImage({ payload: withSizeTrailer(stream, vmlinux.length) }));
    assert.equal(bz.payload().format, format);
    assert.deepEqual(await decompressPayload(bz.payload()), new Uint8Array(vmlinux));
  });
}

test('checks the decompressed size against the trailer', async () => {
  const img = mockBzImage({ payload: new Uint8Array(gzipSync(vmlinux.subarray(0, 100))) });
  const bad = { ...parseBzImage(img).payload(), decompressedSize: 99 };
  await assert.rejects(decompressPayload(bad), (e: unknown) => e instanceof ExtractError && /100 bytes, the size trailer says 99/.test(e.message));
});

test('reports corrupt data, unknown formats and missing tools', async () => {
  const garbage: Payload = { format: 'gzip', bytes: new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), decompressedSize: 1 };
  await assert.rejects(decompressPayload(garbage), ExtractError);
  const xzGarbage: Payload = { format: 'xz', bytes: new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1, 2, 3, 4, 5, 6, 7, 8]), decompressedSize: 1 };
  await assert.rejects(decompressPayload(xzGarbage), (e: unknown) => e instanceof ExtractError && /xz -dc --single-stream failed/.test(e.message));
  const unknown: Payload = { format: 'unknown', bytes: new Uint8Array([1, 2, 3, 4, 5]), decompressedSize: 1 };
  await assert.rejects(decompressPayload(unknown), KernelFormatError);
  const missing = { ...DECOMPRESSORS, xz: ['tsvmm-no-such-decompressor'] as const };
  await assert.rejects(decompressPayload(xzGarbage, missing), (e: unknown) => e instanceof ExtractError && /tsvmm-no-such-decompressor is not installed/.test(e.message));
});

test('extracts the real Debian kernel into a loadable x86_64 ELF', async (t) => {
  const path = debianBzImagePath();
  if (path === undefined) return t.skip(NO_DEBIAN_KERNEL);
  const out = await extractVmlinux(new Uint8Array(readFileSync(path)));
  const elf = parseElf64(out);
  assert.equal(elf.machine, EM.X86_64);
  assert.ok(elf.segments.length >= 2, `${elf.segments.length} PT_LOADs`);
  assert.ok(elf.pvhEntry !== undefined, 'Debian kernels carry the PVH entry note');
  // Load it into RAM big enough for its highest segment and check the entry bytes landed.
  const end = Math.max(...elf.segments.map((s) => Number(s.paddr) + s.memsz));
  const mem = new GuestMemory([{ gpa: 0, buffer: new ArrayBuffer(Math.ceil(end / 0x100000) * 0x100000) }]);
  const loaded = loadElf(mem, elf);
  const first = elf.segments.find((s) => s.paddr === BigInt(loaded.entry));
  assert.ok(first !== undefined, 'entry is the start of a segment (startup_64)');
  assert.deepEqual(mem.slice(loaded.entry, 16), first.data.subarray(0, 16));
});
