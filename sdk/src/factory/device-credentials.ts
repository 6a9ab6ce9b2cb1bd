/**
 * What the device runtime logs in and provisions with: the factory record when the station burnt one, otherwise
 * the legacy records (`triad`, `pop`) that `triadkit-sim device --triad-file / --pop-file` and earlier firmware
 * write. The factory record wins whole: its triad and its PoP verifier, never a mix with legacy records.
 */
import {
  type AlibabaTriad,
  type DeviceFactoryState,
  type FactoryIdentity,
  type FactoryRecord,
  factoryIdentityOf,
  fromHex,
  type GenieTriad,
  type PopVerifier,
} from "@triadkit/protocol";
import { popVerifierRecord, triadRecord } from "../device-records.js";
import type { FlashStore } from "../storage/flash-store.js";
import { FactoryCredentialStore } from "./credential-store.js";

export interface DeviceCredentials {
  /** Where they came from: the factory record, the legacy records, or nothing yet. */
  readonly source: "factory" | "legacy" | "none";
  /** The factory state (`blank` for legacy and none: the factory protocol sees only its own record). */
  readonly factoryState: DeviceFactoryState;
  /** The public identity, when any triad is held. */
  readonly identity?: FactoryIdentity;
  /** The Alibaba triad for the MQTT session (secret inside). Absent for a Genie record: the session cannot use it. */
  readonly triad?: AlibabaTriad;
  /** A Genie triad from the factory record (secret inside), for a mesh stack; the MQTT session does not use it. */
  readonly genie?: GenieTriad;
  /** The PoP verifier for WiFi provisioning (password-equivalent: keep it like the secret). */
  readonly popVerifier?: PopVerifier;
  /** The whole factory record, when the source is `factory`. */
  readonly record?: FactoryRecord;
}

/**
 * Loads the device's credentials (see the module comment). Throws what the store throws: a damaged factory record
 * is `store.corrupt_record`, not a silent fall-back to legacy records.
 */
export async function loadDeviceCredentials(store: FlashStore): Promise<DeviceCredentials> {
  const factory = await (await FactoryCredentialStore.open(store)).snapshot();
  const record = factory.record;
  if (record !== undefined) {
    const t = record.triad;
    const popVerifier: PopVerifier = { v: 1, salt: record.pop.salt, key: record.pop.key };
    const common = {
      source: "factory",
      factoryState: factory.state,
      identity: factoryIdentityOf(t),
      popVerifier,
      record,
    };
    if (t.family === "alibaba") {
      return {
        ...common,
        source: "factory",
        triad: { productKey: t.productKey, deviceName: t.deviceName, deviceSecret: t.deviceSecret },
      };
    }
    return { ...common, source: "factory", genie: { productId: t.productId, mac: t.mac, secret: t.secret } };
  }
  const triad = await triadRecord.load(store);
  const pop = await popVerifierRecord.load(store);
  const popVerifier: PopVerifier | undefined =
    pop === undefined ? undefined : { v: 1, salt: fromHex(pop.salt), key: fromHex(pop.key) };
  if (triad === undefined && popVerifier === undefined) return { source: "none", factoryState: "blank" };
  return {
    source: "legacy",
    factoryState: "blank",
    ...(triad === undefined
      ? {}
      : { triad, identity: { family: "alibaba", productKey: triad.productKey, deviceName: triad.deviceName } }),
    ...(popVerifier === undefined ? {} : { popVerifier }),
  };
}
