/** Fixed inputs of the factory worked vectors (also printed in docs/factory-protocol.md). Test-only. */
import { ed25519 } from "@noble/curves/ed25519.js";
import { range } from "../../provisioning/__tests__/helpers.js";
import { derivePopVerifier } from "../../provisioning/pop.js";
import type { FactoryHello, FactoryRecord, FactoryTriad } from "../types.js";

export { range };

export const VECTOR_TRIAD = {
  family: "alibaba",
  productKey: "a1FacTest01",
  deviceName: "factory-dev-001",
  deviceSecret: "s3cr3tS3cr3tS3cr3tS3cr3tS3cr3t01",
} as const satisfies FactoryTriad;

export const GENIE_TRIAD = {
  family: "genie",
  productId: 5_120_345,
  mac: "28fa7a5c0001",
  secret: "0123456789abcdef0123456789abcdef",
} as const satisfies FactoryTriad;

/** The pool's factory anchor: seed 0x01..0x20. */
export const ANCHOR_SEED = range(1, 32);
export const ANCHOR_PUBLIC_KEY = ed25519.getPublicKey(ANCHOR_SEED);

export const VECTOR_RECORD: FactoryRecord = {
  v: 1,
  triad: VECTOR_TRIAD,
  // PoP 0x50..0x5f, salt 0x00..0x0f.
  pop: derivePopVerifier(range(0x50, 16), range(0, 16)),
  shelf: { storeId: 184454101, deviceCode: "8F6A77C73E" },
  anchor: { poolId: "pool-a", publicKey: ANCHOR_PUBLIC_KEY },
  stationId: "st-1",
  workOrderId: "WO-2026-001",
  triadId: "t000102030405060708090a0b",
  writtenAt: 1_790_000_000_000,
};

export const CHIP_ID = "a1b2c3d4e5f60718";
/** hello request: requestId 1, stationNonce 0x00..0x0f. */
export const HELLO_NONCE = range(0, 16);
/** verify request: stationNonce 0x10..0x1f; verified response: deviceNonce 0xa0..0xaf, requestId 3. */
export const VERIFY_STATION_NONCE = range(0x10, 16);
export const VECTOR_DEVICE_NONCE = range(0xa0, 16);
/** hello challenge 0xc0..0xcf. */
export const CHALLENGE = range(0xc0, 16);

export function blankHello(overrides: Partial<FactoryHello> = {}): FactoryHello {
  return {
    t: "hello",
    protocolVersion: 1,
    chipId: CHIP_ID,
    wifiMac: "28fa7a5c0001",
    bleMac: "28fa7a5c0002",
    model: "TK-SHELF-1",
    firmware: "1.4.2",
    state: "blank",
    challenge: CHALLENGE,
    ...overrides,
  };
}
