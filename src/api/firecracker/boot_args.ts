// Firecracker boot_args -> the part of tsvmm's kernel command line that
// follows its base options.
//
// Firecracker puts its devices on virtio-mmio, so its users commonly pass
// `pci=off` (firectl's default arguments do). tsvmm's virtio devices sit on
// PCI: a guest booted with pci=off would find no disk and no network card. So
// `off` is dropped from any `pci=` option, and the caller is told in one line.

/** A kernel parameter, split on unquoted whitespace as the kernel does (lib/cmdline.c next_arg). */
export function splitCmdline(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && /\s/.test(ch)) {
      if (current !== '') out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current !== '') out.push(current);
  return out;
}

export interface CleanedBootArgs {
  /** The arguments without pci=off; undefined when nothing is left. */
  readonly args: string | undefined;
  /** One line for the user when something was dropped. */
  readonly notice: string | undefined;
}

const PCI_PREFIX = 'pci=';
const PCI_OFF = 'off';

/**
 * Removes `off` from every `pci=` parameter (dropping the parameter when
 * nothing else is in it). Arguments without pci=off come back unchanged.
 */
export function dropPciOff(bootArgs: string): CleanedBootArgs {
  const kept: string[] = [];
  let dropped = false;
  for (const param of splitCmdline(bootArgs)) {
    if (!param.startsWith(PCI_PREFIX)) {
      kept.push(param);
      continue;
    }
    const options = param.slice(PCI_PREFIX.length).split(',');
    const rest = options.filter((o) => o !== PCI_OFF);
    if (rest.length === options.length) {
      kept.push(param);
      continue;
    }
    dropped = true;
    if (rest.length > 0) kept.push(`${PCI_PREFIX}${rest.join(',')}`);
  }
  if (!dropped) return { args: bootArgs.trim() === '' ? undefined : bootArgs, notice: undefined };
  return {
    args: kept.length > 0 ? kept.join(' ') : undefined,
    notice: "boot_args: dropped pci=off: tsvmm's virtio devices are on PCI (Firecracker's are on virtio-mmio), so the guest needs PCI to find its disks",
  };
}
