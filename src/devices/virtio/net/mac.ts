// Ethernet MAC addresses for the guest: parse `--mac`, format for messages,
// and a default that is stable for a given seed (e.g. the TAP name), so a
// guest keeps its address (and its DHCP lease) across runs.
//
// A guest MAC must be a unicast address (I/G bit, bit 0 of the first octet,
// clear: IEEE 802-2014 §8.2) and not all zeroes. The default is also locally
// administered (U/L bit, bit 1 of the first octet, set), so it never clashes
// with a vendor-assigned address.
import { createHash } from 'node:crypto';
import { ETH } from './constants.js';
import { TsvmmError } from '../../../base/errors.js';

/** I/G and U/L bits of the first octet (IEEE 802-2014 §8.2). */
export const MAC_BITS = {
  MULTICAST: 0x01,
  LOCAL: 0x02,
} as const;

export class MacError extends TsvmmError {}

const MAC_RE = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;

/** Parses "52:54:00:12:34:56" (or with '-'); refuses multicast and all-zero addresses. */
export function parseMac(text: string): Uint8Array {
  if (!MAC_RE.test(text)) throw new MacError(`MAC address "${text}" is not six hex octets like 52:54:00:12:34:56`);
  const mac = new Uint8Array(text.split(/[:-]/).map((h) => parseInt(h, 16)));
  if ((mac[0]! & MAC_BITS.MULTICAST) !== 0) throw new MacError(`MAC address ${text} is a multicast address; a NIC needs a unicast one (first octet even)`);
  if (mac.every((b) => b === 0)) throw new MacError('MAC address 00:00:00:00:00:00 is not a valid station address');
  return mac;
}

export function formatMac(mac: Uint8Array): string {
  if (mac.length !== ETH.ALEN) throw new MacError(`a MAC address has ${ETH.ALEN} bytes, not ${mac.length}`);
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A locally administered unicast MAC derived from SHA-256 of `seed`: same seed, same MAC. */
export function defaultMac(seed: string): Uint8Array {
  const mac = new Uint8Array(createHash('sha256').update(`tsvmm-net:${seed}`).digest().subarray(0, ETH.ALEN));
  mac[0] = (mac[0]! & ~MAC_BITS.MULTICAST) | MAC_BITS.LOCAL;
  return mac;
}
