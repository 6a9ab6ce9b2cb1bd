/**
 * EUI-48 MAC addresses (Wi-Fi, Ethernet, BLE public device address) and BLE random static addresses.
 *
 * The canonical form everywhere in triadkit is 12 lowercase hex characters without separators: the
 * Tmall Genie triad file and its static-OOB auth use lowercase hex. Input may use `:` or `-` between every
 * octet, or no separator, in either case. Addresses are written most significant octet first (the usual
 * display order); bytes taken from BLE HCI events are little-endian and must be reversed first.
 */

import { enforceStrict, fail, type Validated, type Warning } from "../errors.js";
import { trimInput } from "./describe.js";

/**
 * What the address is used as:
 * - `wifi` / `ethernet`: an IEEE 802 individual address; multicast, all-zero and broadcast are rejected;
 * - `ble_public`: a Bluetooth LE public device address; all-zero and all-ones are rejected, but the I/G
 *   (multicast) bit is not checked, because BLE has no group addresses.
 */
export type MacKind = "ethernet" | "wifi" | "ble_public";

/** Separators {@link formatMac} can write. */
export type MacSeparator = ":" | "-" | "";

/** Options for {@link parseMac}. */
export interface ParseMacOptions {
  /** Defaults to `wifi`. */
  readonly kind?: MacKind;
  /** Turn warnings (`id.mac_locally_administered`) into a thrown `id.bad_mac`. */
  readonly strict?: boolean;
}

const PLAIN = /^[0-9a-f]{12}$/;
const SEPARATED = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}$/;
const FORMAT_HINT = "12 hex digits, optionally as 6 octets separated by ':' or '-' (e.g. a4:c1:38:0e:5f:22)";

/**
 * Normalises the syntax of a 48-bit address to 12 lowercase hex characters, without any check of its
 * meaning (use {@link parseMac} or {@link parseBleRandomStaticAddress} for that). Surrounding whitespace is
 * trimmed; a separator must be the same between all 6 octets.
 *
 * @throws TriadkitError `id.bad_mac` when the input is not of that form.
 */
export function normalizeMac(input: string): string {
  const text = trimInput(input).toLowerCase();
  if (PLAIN.test(text)) return text;
  if (SEPARATED.test(text)) return text.replace(/[:-]/g, "");
  return fail("id.bad_mac", `MAC address must be ${FORMAT_HINT}, got ${text.length} characters`, {
    length: text.length,
  });
}

/** First (most significant) octet of a normalised address. */
function firstOctet(mac: string): number {
  return Number.parseInt(mac.slice(0, 2), 16);
}

/**
 * Validates a MAC address and returns it as 12 lowercase hex characters.
 *
 * Errors: `id.bad_mac` (malformed), `id.mac_all_zero` (00:00:00:00:00:00), `id.mac_broadcast`
 * (ff:ff:ff:ff:ff:ff), and for `wifi`/`ethernet` `id.mac_multicast` (bit 0 of the first octet set).
 * Warning: `id.mac_locally_administered` (bit 1 of the first octet set: not a vendor-assigned address).
 */
export function parseMac(input: string, opts: ParseMacOptions = {}): Validated<string> {
  const kind = opts.kind ?? "wifi";
  const mac = normalizeMac(input);
  if (mac === "000000000000") {
    fail("id.mac_all_zero", "MAC address 00:00:00:00:00:00 is a placeholder, not a device address");
  }
  if (mac === "ffffffffffff") {
    fail("id.mac_broadcast", "MAC address ff:ff:ff:ff:ff:ff is the broadcast address, not a device address");
  }
  const octet0 = firstOctet(mac);
  if (kind !== "ble_public" && (octet0 & 0x01) !== 0) {
    fail(
      "id.mac_multicast",
      `MAC address ${formatMac(mac)} is a multicast (group) address: bit 0 of the first octet must be 0 for a ${kind} device`,
      { mac },
    );
  }
  const warnings: Warning[] = [];
  if ((octet0 & 0x02) !== 0) {
    warnings.push({
      code: "id.mac_locally_administered",
      message: `MAC address ${formatMac(mac)} is locally administered (bit 1 of the first octet set), not vendor-assigned`,
    });
  }
  return enforceStrict({ value: mac, warnings }, opts.strict, "id.bad_mac");
}

/**
 * Validates a Bluetooth LE random static device address (Core Spec Vol 6 Part B §1.3.2.1) and returns it
 * as 12 lowercase hex characters, most significant octet first.
 *
 * - The two most significant bits must be `11` (`00` = non-resolvable private, `01` = resolvable
 *   private, `10` = reserved).
 * - The remaining 46 random bits must be neither all 0 nor all 1.
 * - The IEEE multicast and locally-administered bits have no meaning here and are not checked.
 *
 * @throws TriadkitError `id.bad_mac` (malformed), `id.bad_ble_random_static` (wrong type bits or a
 *   degenerate random part).
 */
export function parseBleRandomStaticAddress(input: string): Validated<string> {
  const mac = normalizeMac(input);
  const octet0 = firstOctet(mac);
  const typeBits = octet0 >> 6;
  if (typeBits !== 0b11) {
    const kind = ["non-resolvable private", "resolvable private", "reserved"][typeBits] as string;
    fail(
      "id.bad_ble_random_static",
      `BLE random static address must have the two top bits 11 (first octet c0–ff), ${formatMac(mac)} has ${typeBits.toString(2).padStart(2, "0")} (${kind})`,
      { mac },
    );
  }
  const random = (octet0 & 0x3f).toString(16).padStart(2, "0") + mac.slice(2);
  if (random === "000000000000" || random === "3fffffffffff") {
    fail(
      "id.bad_ble_random_static",
      `BLE random static address ${formatMac(mac)} has its 46 random bits all ${random === "000000000000" ? "0" : "1"}`,
      { mac },
    );
  }
  return { value: mac, warnings: [] };
}

/**
 * Writes a MAC address as 6 octets joined by `sep` (default `:`), lowercase unless `upper`.
 * The input may be in any form {@link normalizeMac} accepts; only its syntax is checked.
 *
 * @throws TriadkitError `id.bad_mac` when `mac` is malformed.
 */
export function formatMac(mac: string, sep: MacSeparator = ":", upper = false): string {
  const plain = normalizeMac(mac);
  const out = (plain.match(/../g) as string[]).join(sep);
  return upper ? out.toUpperCase() : out;
}
