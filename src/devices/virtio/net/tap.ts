// A TAP device as virtio-net's backend (Linux Documentation/networking/
// tuntap.rst): open /dev/net/tun, attach to (or create) an interface with
// TUNSETIFF as IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, non-blocking. Each read
// or write then carries one Ethernet frame preceded by a virtio_net_hdr, the
// same header virtio-net uses, so frames pass through untranslated.
//
// Once the driver negotiated features (worker thread, at DRIVER_OK),
// configureTap() sets the header size (12 bytes with VERSION_1) and the
// offloads the guest can take (TUNSETOFFLOAD): the kernel then sends the
// guest partial checksums and GSO frames only if the guest accepted them.
//
// Errors: TapError, one clear line naming the device and what to do, with
// `code` the errno name and the NativeError as `cause`.
import { TUN_IOCTL } from '../../../kvm/generated/uapi.js';
import { native } from '../../../native/addon.js';
import { O } from '../../../native/linux.js';
import { featureBit } from '../constants.js';
import { VIRTIO_NET_F } from './constants.js';
import { vnetHeaderSize } from './header.js';
import { TsvmmError, errnoCode } from '../../../base/errors.js';

/**
 * The TUN/TAP device and its ioctls (include/uapi/linux/if_tun.h); the
 * request numbers are kept with the other UAPI constants, checked against the
 * host's headers (src/kvm/generated/uapi.ts).
 */
export const TUN = {
  DEVICE: '/dev/net/tun',
  SETIFF: TUN_IOCTL.TUNSETIFF,
  /** Offload flags passed by value. */
  SETOFFLOAD: TUN_IOCTL.TUNSETOFFLOAD,
  GETVNETHDRSZ: TUN_IOCTL.TUNGETVNETHDRSZ,
  /** A pointer to an int. */
  SETVNETHDRSZ: TUN_IOCTL.TUNSETVNETHDRSZ,
} as const;

/** ifr_flags for TUNSETIFF (if_tun.h). */
export const IFF = {
  TUN: 0x0001,
  TAP: 0x0002,
  NO_PI: 0x1000,
  VNET_HDR: 0x4000,
} as const;

/** TUNSETOFFLOAD bits (if_tun.h): what the reader (the guest) can take. */
export const TUN_F = {
  CSUM: 0x01,
  TSO4: 0x02,
  TSO6: 0x04,
  TSO_ECN: 0x08,
  UFO: 0x10,
  USO4: 0x20,
  USO6: 0x40,
} as const;

/** struct ifreq (include/uapi/linux/if.h): name[IFNAMSIZ] then a 24-byte union; ifr_flags is a short at 16. */
export const IFREQ = {
  NAME: 0,
  FLAGS: 16,
  SIZE: 40,
  /** IFNAMSIZ, terminating NUL included. */
  NAMSIZ: 16,
} as const;

/** The kernel's template: it picks the first free tapN. */
export const TAP_TEMPLATE = 'tap%d';

export class TapError extends TsvmmError {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Tap {
  /** Non-blocking, close-on-exec; closing it removes a TAP this call created. */
  readonly fd: number;
  /** The interface name (the kernel's choice when a template was given). */
  readonly name: string;
}

/**
 * Why `name` cannot be an interface name (net/core/dev.c dev_valid_name), or
 * null. A single "%d" is allowed: the kernel replaces it.
 */
export function interfaceNameProblem(name: string): string | null {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0) return 'it is empty';
  if (bytes >= IFREQ.NAMSIZ) return `it is ${bytes} bytes; at most ${IFREQ.NAMSIZ - 1} are allowed`;
  if (name === '.' || name === '..') return 'it is "." or ".."';
  if (/[/:\s]/.test(name)) return 'it contains "/", ":" or whitespace';
  if (/[^\x21-\x7e]/.test(name)) return 'it contains non-printable or non-ASCII characters';
  if ((name.match(/%/g) ?? []).length > (name.includes('%d') ? 1 : 0)) return 'only one "%d" may appear, and no other "%"';
  return null;
}

function tapError(what: string, err: unknown, name: string): TapError {
  const code = errnoCode(err) ?? 'E?';
  const detail = (err as Error).message;
  switch (code) {
    case 'ENOENT':
    case 'ENODEV':
    case 'ENXIO':
      return new TapError(`${TUN.DEVICE} is missing or has no driver (load it: modprobe tun) (${detail})`, code, { cause: err });
    case 'EACCES':
      return new TapError(`cannot open ${TUN.DEVICE}: permission denied (run as root or make it accessible) (${detail})`, code, { cause: err });
    case 'EPERM':
      return new TapError(`${what} "${name}": operation not permitted; creating or attaching a TAP needs CAP_NET_ADMIN (run as root, or pre-create it with \`ip tuntap add dev ${name.includes('%') ? 'tap0' : name} mode tap user $USER\`)`, code, { cause: err });
    case 'EBUSY':
      return new TapError(`${what} "${name}": device busy; another process has this TAP open`, code, { cause: err });
    case 'EINVAL':
      return new TapError(`${what} "${name}": invalid; is it an existing interface that is not a TAP (e.g. a bridge or a TUN)? (${detail})`, code, { cause: err });
    default:
      return new TapError(`${what} "${name}": ${detail}`, code, { cause: err });
  }
}

/**
 * Opens the TAP `name` (created if missing), or a new one from the kernel's
 * tap%d template when `name` is undefined. The returned name is the one the
 * kernel wrote back into the ifreq.
 */
export function openTap(name: string | undefined): Tap {
  const wanted = name ?? TAP_TEMPLATE;
  const problem = interfaceNameProblem(wanted);
  if (problem !== null) throw new TapError(`TAP name "${wanted}" is not a valid interface name: ${problem}`, 'EINVAL');
  let fd: number;
  try {
    fd = native.open(TUN.DEVICE, O.RDWR | O.NONBLOCK, 0);
  } catch (err) {
    throw tapError('opening', err, TUN.DEVICE);
  }
  try {
    const ifr = Buffer.alloc(IFREQ.SIZE);
    ifr.write(wanted, IFREQ.NAME, IFREQ.NAMSIZ - 1, 'latin1');
    ifr.writeUInt16LE(IFF.TAP | IFF.NO_PI | IFF.VNET_HDR, IFREQ.FLAGS);
    native.ioctl(fd, TUN.SETIFF, ifr);
    const end = ifr.indexOf(0, IFREQ.NAME);
    const actual = ifr.toString('latin1', IFREQ.NAME, end < 0 || end > IFREQ.NAMSIZ ? IFREQ.NAMSIZ : end);
    return { fd, name: actual };
  } catch (err) {
    native.close(fd);
    throw tapError(name === undefined ? 'creating a TAP from' : 'opening TAP', err, wanted);
  }
}

/** Sets the virtio_net_hdr size the TAP reads and writes before each frame (TUNSETVNETHDRSZ). */
export function setVnetHeaderSize(fd: number, size: number): void {
  const arg = new Int32Array([size]);
  native.ioctl(fd, TUN.SETVNETHDRSZ, arg);
}

export function getVnetHeaderSize(fd: number): number {
  const arg = new Int32Array(1);
  native.ioctl(fd, TUN.GETVNETHDRSZ, arg);
  return arg[0]!;
}

/** Tells the TAP which offloaded frames the reader accepts (TUNSETOFFLOAD, TUN_F_* bits). */
export function setOffload(fd: number, flags: number): void {
  native.ioctlInt(fd, TUN.SETOFFLOAD, flags);
}

/**
 * The TUN_F_* offloads matching what the guest driver accepted on receive:
 * GUEST_CSUM -> CSUM, and with it GUEST_TSO4/6 -> TSO4/6, GUEST_ECN -> TSO_ECN
 * (the kernel ignores TSO bits without CSUM; §5.1.3.1 makes the guest
 * features depend on GUEST_CSUM the same way). GUEST_UFO is never offered.
 */
export function tunOffloadFlags(features: bigint): number {
  const has = (bit: number): boolean => (features & featureBit(bit)) !== 0n;
  if (!has(VIRTIO_NET_F.GUEST_CSUM)) return 0;
  let flags: number = TUN_F.CSUM;
  if (has(VIRTIO_NET_F.GUEST_TSO4)) flags |= TUN_F.TSO4;
  if (has(VIRTIO_NET_F.GUEST_TSO6)) flags |= TUN_F.TSO6;
  if ((flags & (TUN_F.TSO4 | TUN_F.TSO6)) !== 0 && has(VIRTIO_NET_F.GUEST_ECN)) flags |= TUN_F.TSO_ECN;
  return flags;
}

/** Applies negotiated features to the TAP: header size, then offloads. Call at DRIVER_OK, before serving queues. */
export function configureTap(fd: number, features: bigint): void {
  try {
    setVnetHeaderSize(fd, vnetHeaderSize(features));
    setOffload(fd, tunOffloadFlags(features));
  } catch (err) {
    const code = errnoCode(err) ?? 'E?';
    throw new TapError(`configuring the TAP (fd ${fd}) for features 0x${features.toString(16)}: ${(err as Error).message}`, code, { cause: err });
  }
}
