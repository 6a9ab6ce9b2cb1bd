/**
 * Client source addresses spread over 127.0.0.0/8 (as emqtt-bench does with `--ifaddr`): one TCP 4-tuple per
 * (source address, source port), so a fleet is not capped by the ~28,000 ephemeral ports of one address. Linux
 * routes the whole of 127.0.0.0/8 to `lo`, so any of these addresses can be bound without configuration.
 */

/** Devices per source address before the next one is used (well under the ephemeral port range). */
export const DEVICES_PER_ADDRESS = 10_000;

/**
 * The source address of device `index`: `127.1.b.c` counted up from 127.1.0.1, `perAddress` devices each
 * (default {@link DEVICES_PER_ADDRESS}; 1 gives every device its own address, which the fault proxy uses to tell
 * devices apart).
 */
export function sourceAddress(index: number, perAddress: number = DEVICES_PER_ADDRESS): string {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`device index must be a non-negative integer`);
  const n = Math.floor(index / perAddress) + 1; // never 127.1.0.0
  if (n > 0xff_fffe) throw new RangeError("out of 127.0.0.0/8 source addresses");
  return `127.${1 + (n >>> 16)}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}
