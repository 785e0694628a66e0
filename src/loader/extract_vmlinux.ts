// Extracts the uncompressed vmlinux (an ELF) from a bzImage.
//
// The payload is located with the setup header (payload_offset/length, boot
// protocol 2.08+) rather than by scanning for magic bytes as the kernel's
// scripts/extract-vmlinux does. gzip is decompressed with node:zlib; the other
// formats with the system's tools (xz-utils, lz4, zstd, bzip2, lzop), fed
// through a pipe. The kernel build appends the decompressed size as a u32
// after the stream (scripts/Makefile.lib, size_append); it is stripped before
// decompression and then used to check the result.
import { spawn } from 'node:child_process';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { parseBzImage, type Payload, type PayloadFormat } from './bzimage.js';
import { KernelFormatError, hex } from './errors.js';
import { TsvmmError, isErrno } from '../base/errors.js';

export class ExtractError extends TsvmmError {}

export type Decompressors = Readonly<Record<Exclude<PayloadFormat, 'gzip' | 'unknown'>, readonly [string, ...string[]]>>;

/** The command that decompresses each format from stdin to stdout. */
export const DECOMPRESSORS = {
  // --single-stream: stop after the first .xz stream, whatever follows.
  xz: ['xz', '-dc', '--single-stream'],
  lzma: ['xz', '--format=lzma', '-dc'],
  // lz4 detects the legacy frame (lz4 -l) by its magic.
  lz4: ['lz4', '-dc'],
  zstd: ['zstd', '-dc'],
  bzip2: ['bzip2', '-dc'],
  lzo: ['lzop', '-dc'],
} as const satisfies Decompressors;

/** A vmlinux larger than this is not a kernel; stop reading a runaway decompressor. */
export const MAX_VMLINUX_SIZE = 1024 * 1024 * 1024;

const SIZE_TRAILER = 4;

/**
 * Decompresses a bzImage payload and checks its length against the size
 * trailer. `tools` replaces the commands (tests use it for a missing tool).
 */
export async function decompressPayload(payload: Payload, tools: Decompressors = DECOMPRESSORS): Promise<Uint8Array> {
  const { format, bytes, decompressedSize } = payload;
  let out: Uint8Array;
  if (format === 'gzip') {
    // gzip's own ISIZE field is the last 4 bytes, so nothing is stripped.
    try {
      out = asUint8Array(await promisify(gunzip)(bytes));
    } catch (err) {
      throw new ExtractError(`gzip payload failed to decompress: ${(err as Error).message}`, { cause: err });
    }
  } else if (format === 'unknown') {
    throw new KernelFormatError(`bzImage payload has an unknown compression format (starts ${hex(bytes[0] ?? 0)} ${hex(bytes[1] ?? 0)})`);
  } else {
    out = await pipeThrough(tools[format], bytes.subarray(0, bytes.length - SIZE_TRAILER));
  }
  if (out.length !== decompressedSize) {
    throw new ExtractError(`${format} payload decompressed to ${out.length} bytes, the size trailer says ${decompressedSize}`);
  }
  return out;
}

/** Parses a bzImage and returns its decompressed vmlinux. */
export async function extractVmlinux(bzImage: Uint8Array): Promise<Uint8Array> {
  return decompressPayload(parseBzImage(bzImage).payload());
}

/** A plain Uint8Array view of a Buffer's bytes (no copy), so callers see one type. */
function asUint8Array(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function pipeThrough(command: readonly [string, ...string[]], input: Uint8Array): Promise<Uint8Array> {
  const [file, ...args] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let total = 0;
    let stderr = '';
    let failed: Error | undefined;
    child.on('error', (err: Error) => {
      failed = new ExtractError(
        isErrno(err, 'ENOENT') ? `${file} is not installed (needed to decompress this kernel)` : `${file} failed to start: ${err.message}`,
        { cause: err },
      );
      reject(failed); // 'close' may not follow a failed spawn; a second reject is ignored
    });
    // The tool may exit before reading all input (corrupt data); its exit status reports that.
    child.stdin.on('error', () => {});
    child.stdout.on('data', (c: Buffer) => {
      total += c.length;
      if (total > MAX_VMLINUX_SIZE) {
        failed ??= new ExtractError(`${file} produced more than ${MAX_VMLINUX_SIZE} bytes; giving up`);
        child.kill();
        return;
      }
      chunks.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 2000) stderr += c.toString();
    });
    child.on('close', (code, signal) => {
      if (failed !== undefined) return reject(failed);
      if (code !== 0) {
        const why = signal !== null ? `signal ${signal}` : `exit status ${code}`;
        return reject(new ExtractError(`${command.join(' ')} failed (${why}): ${stderr.trim().split('\n')[0] ?? ''}`));
      }
      resolve(asUint8Array(Buffer.concat(chunks, total)));
    });
    child.stdin.end(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  });
}
