// Where the arm64 boot puts things, and writing them into guest RAM.
//
// Source: Documentation/arch/arm64/booting.rst.
// - The Image goes text_offset bytes above a 2 MiB aligned base. With flags
//   bit 3 clear the base should be as close to the start of RAM as possible;
//   RAM_START is 2 MiB aligned, so base = RAM_START satisfies both settings.
// - The DTB: 8-byte aligned, at most 2 MiB, in a 2 MiB block of its own (the
//   kernel maps it with 2 MiB blocks). It goes at the top of RAM.
// - The initrd: anywhere, but inside a 1 GiB aligned window of at most
//   32 GiB that also covers the kernel. It goes right below the DTB, and
//   both stay below RAM_START + 32 GiB.
// Everything high keeps the memory right after the kernel free, which
// booting.rst asks for when image_size is 0 (pre-3.17 kernels).
import type { BootPlan, KernelImages } from '../arch.js';
import type { GuestMemory } from '../../memory/guest_memory.js';
import { detectKernelFormat } from '../../loader/kernel.js';
import { gunzipImage, isGzip, parseArm64Image, type Arm64Image } from '../../loader/arm64_image.js';
import { KernelFormatError, KernelLoadError, hex } from '../../loader/errors.js';
import { LAYOUT, MiB, ramRegions } from './layout.js';
import { buildMachineFdt } from './machine_fdt.js';
import type { Arm64Entry } from './vcpu.js';

/** arch/arm64/include/uapi/asm/setup.h COMMAND_LINE_SIZE, the NUL included. */
export const ARM64_COMMAND_LINE_SIZE = 2048;
const FDT_ALIGN = 2 * MiB;

export interface Arm64BootPlan extends BootPlan {
  readonly image: Arm64Image;
  readonly kernelAddr: number;
  readonly fdtAddr: number;
  readonly initrd: { addr: number; bytes: Uint8Array } | undefined;
  readonly cmdline: string;
  readonly memoryBytes: number;
}

const alignDown = (n: number, a: number): number => n - (n % a);

function describe(img: Arm64Image, gzipped: boolean): string {
  const parts = [img.hasImageSize ? `text_offset ${hex(img.textOffset)}` : 'pre-3.17 header', `${(img.effectiveSize / MiB).toFixed(1)} MiB`];
  if (img.pageSize !== undefined) parts.push(`${img.pageSize / 1024}K pages`);
  if (gzipped) parts.push('gzip');
  return `arm64 Image (${parts.join(', ')})`;
}

function parseKernel(bytes: Uint8Array, memoryBytes: number): { image: Arm64Image; gzipped: boolean } {
  const gzipped = isGzip(bytes);
  const raw = gunzipImage(bytes, memoryBytes);
  const format = detectKernelFormat(raw);
  if (format === 'arm64-image') return { image: parseArm64Image(raw), gzipped };
  if (format === 'bzimage') throw new KernelFormatError('an x86 bzImage cannot boot on this arm64 host');
  if (format === 'elf') throw new KernelFormatError('an ELF vmlinux: on arm64 tsvmm boots the Image format (arch/arm64/boot/Image)');
  throw new KernelFormatError('not a kernel tsvmm can boot: no arm64 Image header ("ARM\\x64" at 0x38)');
}

/** Parses the kernel and decides every address; pure, so bad input fails before /dev/kvm is opened. */
export function planArm64Boot(images: KernelImages, memoryBytes: number): Arm64BootPlan {
  ramRegions(memoryBytes);
  const { image, gzipped } = parseKernel(images.kernel, memoryBytes);
  const cmdlineBytes = new TextEncoder().encode(images.cmdline).length;
  if (images.cmdline.includes('\0')) throw new KernelLoadError('the kernel command line contains a NUL byte');
  if (cmdlineBytes >= ARM64_COMMAND_LINE_SIZE) {
    throw new KernelLoadError(`the kernel command line is ${cmdlineBytes} bytes; arm64 Linux takes at most ${ARM64_COMMAND_LINE_SIZE - 1}`);
  }
  const kernelAddr = LAYOUT.RAM_START + image.textOffset;
  const kernelEnd = kernelAddr + image.effectiveSize;
  const top = LAYOUT.RAM_START + Math.min(memoryBytes, LAYOUT.INITRD_WINDOW);
  const fdtAddr = alignDown(top - LAYOUT.FDT_MAX_SIZE, FDT_ALIGN);
  let initrd: Arm64BootPlan['initrd'];
  let low = fdtAddr;
  if (images.initrd !== undefined) {
    low = alignDown(fdtAddr - images.initrd.length, LAYOUT.INITRD_ALIGN);
    initrd = { addr: low, bytes: images.initrd };
  }
  if (low < kernelEnd) {
    const need = kernelEnd - LAYOUT.RAM_START + (fdtAddr - low) + LAYOUT.FDT_MAX_SIZE;
    throw new KernelLoadError(
      `the kernel (${(image.effectiveSize / MiB).toFixed(1)} MiB from ${hex(kernelAddr)})${initrd ? `, the ${(initrd.bytes.length / MiB).toFixed(1)} MiB initrd` : ''} and the device tree need about ${Math.ceil(need / MiB)} MiB but the guest has ${memoryBytes / MiB} MiB: give it more with -m`,
    );
  }
  return { description: describe(image, gzipped), image, kernelAddr, fdtAddr, initrd, cmdline: images.cmdline, memoryBytes };
}

/** Writes the kernel, the initrd and the device tree; returns the entry state for the boot vCPU. */
export function loadArm64Boot(memory: GuestMemory, plan: Arm64BootPlan, machine: { gicVersion: 2 | 3; mpidrs: readonly number[] }): Arm64Entry {
  memory.write(plan.kernelAddr, plan.image.bytes);
  // .bss past the file must read as zero: fresh guest RAM (a memfd) already does.
  if (plan.initrd !== undefined) memory.write(plan.initrd.addr, plan.initrd.bytes);
  const fdt = buildMachineFdt({
    memoryBytes: plan.memoryBytes,
    mpidrs: machine.mpidrs,
    gicVersion: machine.gicVersion,
    cmdline: plan.cmdline,
    initrd: plan.initrd && { start: plan.initrd.addr, end: plan.initrd.addr + plan.initrd.bytes.length },
  });
  memory.write(plan.fdtAddr, fdt);
  return { pc: plan.kernelAddr, fdt: plan.fdtAddr };
}
