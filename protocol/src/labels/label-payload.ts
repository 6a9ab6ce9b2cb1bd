/**
 * Device and carton label payloads: the text a label's QR code carries (docs/station.md "Labels / 标签").
 *
 * `triadkit://label?v=1&k=d&pk=<ProductKey>&dn=<DeviceName>&pop=<TKP1-…>[&sc=<shelf device code>]` (Alibaba) or
 * `triadkit://label?v=1&k=d&pid=<Genie Product ID>&mac=<12 lower hex>&pop=<TKP1-…>[&sc=…]` (Tmall Genie) for the
 * label on the device; `k=c` and no `pop` for the outer carton (the carton travels apart from the device and is
 * thrown away or resold: whoever holds the PoP can take over provisioning, see docs/provisioning.md).
 *
 * The parser is strict: lower-case scheme, parameters in exactly this order, none unknown, missing or repeated, no
 * percent-encoding except the canonical `encodeURIComponent` form of `sc` (a shelf code may hold `&` or `#`), and a
 * field whose name looks like a secret (`ds`, `secret`, `psk`, …) is refused by name before anything else. There is
 * no field for a device secret: the label never carries one. `v` is the payload version (`label.version_unsupported`
 * for any other).
 *
 * The PoP is a secret: no error here echoes it (or any value); contexts name the field only.
 */
import { fail } from "../errors.js";
import { formatPop, parsePop } from "../provisioning/pop.js";
import { DEVICE_NAME_PATTERN } from "../triad/alibaba.js";
import { parseGenieProductId } from "../triad/genie.js";

/** Version of the label payload (`v=`). */
export const LABEL_PAYLOAD_VERSION = 1;
/** Scheme and host of every label payload. */
export const LABEL_PAYLOAD_PREFIX = "triadkit://label?";
/** Longest payload text the parser reads (a keyboard-wedge scan may add noise; real payloads are < 200). */
export const LABEL_PAYLOAD_MAX_LENGTH = 512;

export type LabelKind = "device" | "carton";

/** Who the label is for: never the secret. */
export type LabelIdentity =
  | { readonly family: "alibaba"; readonly productKey: string; readonly deviceName: string }
  | { readonly family: "genie"; readonly productId: number; readonly mac: string };

export interface DeviceLabelPayload {
  readonly kind: "device";
  readonly identity: LabelIdentity;
  /** The PoP bytes (16). */
  readonly pop: Uint8Array;
  /** The smart-shelf device code (设备码), when the device has one. */
  readonly shelfCode?: string;
}

export interface CartonLabelPayload {
  readonly kind: "carton";
  readonly identity: LabelIdentity;
  readonly shelfCode?: string;
}

export type LabelPayload = DeviceLabelPayload | CartonLabelPayload;

const PRODUCT_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const MAC = /^[0-9a-f]{12}$/;
/** Shelf device codes: 1–64 printable ASCII characters without spaces (as the ledger keeps them). */
const SHELF_CODE = /^[\x21-\x7e]{1,64}$/;
/** Parameter names that would carry a secret: refused by name, whatever their value. */
const SECRET_FIELD = /secret|passw|pwd|psk|token|^ds$|^ps$|^sk$|^key$|^dk$/i;
const KIND_CODES: Readonly<Record<LabelKind, string>> = { device: "d", carton: "c" };

function bad(message: string, field?: string): never {
  return fail("label.bad_payload", `label payload: ${message}`, field === undefined ? undefined : { field });
}

function checkIdentity(identity: LabelIdentity): LabelIdentity {
  if (identity === null || typeof identity !== "object") bad("identity is missing", "identity");
  if (identity.family === "alibaba") {
    if (typeof identity.productKey !== "string" || !PRODUCT_KEY.test(identity.productKey)) {
      fail("triad.bad_product_key", "label payload: ProductKey must be 1-64 letters, digits, '_' or '-'");
    }
    if (typeof identity.deviceName !== "string" || !DEVICE_NAME_PATTERN.test(identity.deviceName)) {
      fail("triad.bad_device_name", "label payload: DeviceName must match ^[A-Za-z0-9_@.:-]{4,32}$");
    }
    return { family: "alibaba", productKey: identity.productKey, deviceName: identity.deviceName };
  }
  if (identity.family === "genie") {
    const productId = parseGenieProductId(identity.productId);
    if (typeof identity.mac !== "string" || !MAC.test(identity.mac)) {
      fail("id.bad_mac", "label payload: the MAC must be 12 lower-case hex digits");
    }
    return { family: "genie", productId, mac: identity.mac };
  }
  return bad("unknown identity family", "identity");
}

function checkShelfCode(code: string | undefined): void {
  if (code !== undefined && (typeof code !== "string" || !SHELF_CODE.test(code))) {
    bad("the shelf device code must be 1-64 printable ASCII characters without spaces", "sc");
  }
}

/** Encodes a label payload (fixed parameter order; see the module comment). */
export function encodeLabelPayload(payload: LabelPayload): string {
  const identity = checkIdentity(payload.identity);
  if (payload.kind !== "device" && payload.kind !== "carton") bad("kind must be device or carton", "k");
  checkShelfCode(payload.shelfCode);
  const parts = [`v=${LABEL_PAYLOAD_VERSION}`, `k=${KIND_CODES[payload.kind]}`];
  if (identity.family === "alibaba") parts.push(`pk=${identity.productKey}`, `dn=${identity.deviceName}`);
  else parts.push(`pid=${identity.productId}`, `mac=${identity.mac}`);
  if (payload.kind === "device") parts.push(`pop=${formatPop(payload.pop)}`);
  else if ("pop" in payload && (payload as { pop?: unknown }).pop !== undefined)
    bad("a carton label has no PoP", "pop");
  if (payload.shelfCode !== undefined) parts.push(`sc=${encodeURIComponent(payload.shelfCode)}`);
  return LABEL_PAYLOAD_PREFIX + parts.join("&");
}

/**
 * Parses a label payload. Leading and trailing whitespace (a scanner's Enter) is ignored; nothing else is forgiven.
 * Errors: `label.bad_payload` (context `field`), `label.version_unsupported`, `prov.bad_pop`,
 * `triad.bad_product_key`, `triad.bad_device_name`, `triad.bad_product_id`, `id.bad_mac`.
 */
export function parseLabelPayload(text: string): LabelPayload {
  if (typeof text !== "string" || text.length > LABEL_PAYLOAD_MAX_LENGTH) {
    bad(`not a string of at most ${LABEL_PAYLOAD_MAX_LENGTH} characters`);
  }
  const trimmed = text.trim();
  if (!trimmed.startsWith(LABEL_PAYLOAD_PREFIX)) bad(`not a ${LABEL_PAYLOAD_PREFIX} payload`);
  const query = trimmed.slice(LABEL_PAYLOAD_PREFIX.length);
  const fields: [string, string][] = [];
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    if (eq <= 0) bad("every parameter must be name=value");
    const name = part.slice(0, eq);
    if (SECRET_FIELD.test(name)) bad("a label never carries a secret", "secret");
    if (!/^[a-z]{1,8}$/.test(name)) bad("a parameter name is not lower-case letters");
    fields.push([name, part.slice(eq + 1)]);
  }
  let index = 0;
  const take = (name: string, optional = false): string | undefined => {
    const field = fields[index];
    if (field === undefined || field[0] !== name) {
      if (optional) return undefined;
      return bad(`parameter ${name} is missing or out of order`, name);
    }
    index++;
    if (name !== "sc" && !/^[A-Za-z0-9_@.:,-]*$/.test(field[1]))
      bad("a value has a character a label never uses", name);
    return field[1];
  };
  const version = take("v") as string;
  if (version !== String(LABEL_PAYLOAD_VERSION)) {
    fail("label.version_unsupported", "label payload: unsupported version", { version: version.slice(0, 8) });
  }
  const kindCode = take("k");
  const kind: LabelKind | undefined = kindCode === "d" ? "device" : kindCode === "c" ? "carton" : undefined;
  if (kind === undefined) bad("k must be d (device) or c (carton)", "k");
  let identity: LabelIdentity;
  if (fields[index]?.[0] === "pk") {
    identity = checkIdentity({
      family: "alibaba",
      productKey: take("pk") as string,
      deviceName: take("dn") as string,
    });
  } else if (fields[index]?.[0] === "pid") {
    const productId = parseGenieProductId(take("pid") as string);
    identity = checkIdentity({ family: "genie", productId, mac: take("mac") as string });
  } else {
    return bad("identity (pk+dn or pid+mac) is missing or out of order", "identity");
  }
  let pop: Uint8Array | undefined;
  if (kind === "device") {
    const popText = take("pop") as string;
    if (!/^TKP1-[A-Z2-7]{26}$/.test(popText))
      fail("prov.bad_pop", "label payload: the PoP is not in its canonical form");
    pop = parsePop(popText);
  } else if (fields[index]?.[0] === "pop") {
    bad("a carton label has no PoP", "pop");
  }
  const rawCode = take("sc", true);
  let shelfCode: string | undefined;
  if (rawCode !== undefined) {
    try {
      shelfCode = decodeURIComponent(rawCode);
    } catch {
      bad("bad percent-encoding", "sc");
    }
    checkShelfCode(shelfCode);
    if (encodeURIComponent(shelfCode as string) !== rawCode)
      bad("the shelf code is not in its canonical encoding", "sc");
  }
  if (index !== fields.length) bad("unknown or repeated parameter", fields[index]?.[0]);
  const code = shelfCode === undefined ? {} : { shelfCode };
  return kind === "device" ? { kind, identity, pop: pop as Uint8Array, ...code } : { kind, identity, ...code };
}

/**
 * The human-readable lines printed beside the QR: identity, the PoP (device label only) and the shelf code. ASCII
 * only, so any label printer font and any rasteriser font can show them.
 */
export function labelTextLines(payload: LabelPayload): string[] {
  const identity = checkIdentity(payload.identity);
  const lines =
    identity.family === "alibaba"
      ? [`PK ${identity.productKey}`, `DN ${identity.deviceName}`]
      : [`PID ${identity.productId}`, `MAC ${(identity.mac.match(/../g) as string[]).join(":").toUpperCase()}`];
  if (payload.kind === "device") lines.push(`PoP ${formatPop(payload.pop)}`);
  checkShelfCode(payload.shelfCode);
  if (payload.shelfCode !== undefined) lines.push(`CODE ${payload.shelfCode}`);
  return lines;
}
