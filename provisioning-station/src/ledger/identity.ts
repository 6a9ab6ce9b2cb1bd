/**
 * Identity keys: the strings a unique index holds, so that no identity is ever stored twice in a pool, across
 * every work order and state, forever. Alibaba: `alibaba:<ProductKey>/<DeviceName>`. Tmall Genie WiFi and Bluetooth
 * MACs share one namespace, `mac:<12 lower hex>`: a BLE MAC equal to another device's WiFi MAC is a duplicate.
 */
import type { Random } from "@triadkit/sdk";
import type { TriadIdentity } from "./types.js";

export interface IdentityKey {
  readonly key: string;
  readonly field: "identity" | "mac" | "bleMac";
}

export function identityKeys(identity: TriadIdentity): readonly IdentityKey[] {
  if (identity.family === "alibaba") {
    return [{ key: `alibaba:${identity.productKey}/${identity.deviceName}`, field: "identity" }];
  }
  const keys: IdentityKey[] = [{ key: `mac:${identity.mac.toLowerCase()}`, field: "mac" }];
  const ble = identity.bleMac?.toLowerCase();
  if (ble !== undefined && ble !== "" && ble !== identity.mac.toLowerCase()) {
    keys.push({ key: `mac:${ble}`, field: "bleMac" });
  }
  return keys;
}

/** Public identity as one line of text, for audit entries and logs (never the secret; the opaque Md5 is left out). */
export function describeIdentity(identity: TriadIdentity): string {
  if (identity.family === "alibaba") return `alibaba:${identity.productKey}/${identity.deviceName}`;
  const ble = identity.bleMac === undefined || identity.bleMac === "" ? "" : `/ble:${identity.bleMac}`;
  return `genie:${identity.productId}/${identity.mac}${ble}`;
}

/** A new triad id: "t" and 24 random hex digits (96 bits). */
export function createTriadId(random: Random): string {
  return `t${Buffer.from(random.bytes(12)).toString("hex")}`;
}
