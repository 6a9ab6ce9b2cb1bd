import { createHmac, hkdfSync } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SIGN_METHODS } from "../index.js";
import { expectTriadkitError } from "../testing.js";
import { signConnect, type WireStyle } from "../triad/connect.js";
import { verifyConnect } from "../triad/verify.js";
import { concatBytes, toHex, utf8 } from "../util/bytes.js";
import {
  ANCHOR_PUBLIC_KEY,
  ANCHOR_SEED,
  CHALLENGE,
  CHIP_ID,
  GENIE_TRIAD,
  range,
  VECTOR_TRIAD,
} from "./__tests__/fixtures.js";
import { checkFactoryAuth, factoryAnchorPublicKey, factoryAuthMessage, signFactoryAuth } from "./auth.js";
import { FACTORY_AUTH_LABEL, FACTORY_VERIFY_LABEL } from "./types.js";
import { checkVerifyMac, computeVerifyMac, deriveVerifyKey, verifyMacInput } from "./verify.js";

const SECRET = VECTOR_TRIAD.deviceSecret;
const dn = range(0xa0, 16);
const sn = range(0x10, 16);
const hash = range(0x40, 32);

const arbChipId = fc.stringMatching(/^[0-9a-f]{8,64}$/);
const arbInputs = fc.record({
  deviceNonce: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  stationNonce: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  chipId: arbChipId,
  recordHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});

describe("verify MAC", () => {
  it("derives K_verify by HKDF-SHA256 (checked against node:crypto)", () => {
    const expected = new Uint8Array(hkdfSync("sha256", utf8(SECRET), "triadkit", "triadkit/verify/v1", 32));
    expect(toHex(deriveVerifyKey(SECRET))).toBe(toHex(expected));
    const mac = computeVerifyMac(SECRET, dn, sn, CHIP_ID, hash);
    const reference = createHmac("sha256", expected)
      .update(verifyMacInput(dn, sn, CHIP_ID, hash))
      .digest();
    expect(toHex(mac)).toBe(reference.toString("hex"));
  });

  it("lays out label ‖ 0x00 ‖ deviceNonce ‖ stationNonce ‖ len ‖ chipId ‖ recordHash", () => {
    const input = verifyMacInput(dn, sn, CHIP_ID, hash);
    expect(toHex(input)).toBe(
      toHex(concatBytes(utf8(FACTORY_VERIFY_LABEL), Uint8Array.of(0), dn, sn, Uint8Array.of(16), utf8(CHIP_ID), hash)),
    );
  });

  it("checks in constant time and refuses anything that differs", () => {
    const mac = computeVerifyMac(SECRET, dn, sn, CHIP_ID, hash);
    expect(checkVerifyMac(SECRET, dn, sn, CHIP_ID, hash, mac)).toBe(true);
    const flipped = Uint8Array.from(mac);
    flipped[31] = (flipped[31] as number) ^ 1;
    expect(checkVerifyMac(SECRET, dn, sn, CHIP_ID, hash, flipped)).toBe(false);
    expect(checkVerifyMac(SECRET, dn, sn, CHIP_ID, hash, mac.subarray(0, 16))).toBe(false);
    expect(checkVerifyMac(`${SECRET}x`, dn, sn, CHIP_ID, hash, mac)).toBe(false);
    expect(checkVerifyMac(SECRET, sn, dn, CHIP_ID, hash, mac)).toBe(false);
    expect(checkVerifyMac(SECRET, dn, sn, `${CHIP_ID}0`, hash, mac)).toBe(false);
    expect(checkVerifyMac(SECRET, dn, sn, CHIP_ID, range(0x41, 32), mac)).toBe(false);
    expect(
      checkVerifyMac(
        GENIE_TRIAD.secret,
        dn,
        sn,
        CHIP_ID,
        hash,
        computeVerifyMac(GENIE_TRIAD.secret, dn, sn, CHIP_ID, hash),
      ),
    ).toBe(true);
  });

  it("refuses malformed inputs with factory.bad_message", () => {
    expectTriadkitError(() => verifyMacInput(range(0, 15), sn, CHIP_ID, hash), "factory.bad_message");
    expectTriadkitError(() => verifyMacInput(dn, range(0, 17), CHIP_ID, hash), "factory.bad_message");
    expectTriadkitError(() => verifyMacInput(dn, sn, "A1B2C3D4", hash), "factory.bad_message");
    expectTriadkitError(() => verifyMacInput(dn, sn, CHIP_ID, range(0, 31)), "factory.bad_message");
    expectTriadkitError(() => deriveVerifyKey(""), "factory.bad_message");
  });
});

/** Every way a verify MAC could be offered as an MQTT password, with a connect whose method expects that length. */
function candidatePasswords(
  mac: Uint8Array,
): { style: WireStyle; signMethod: (typeof SIGN_METHODS)[number]; password: string }[] {
  const hex = toHex(mac);
  const out: { style: WireStyle; signMethod: (typeof SIGN_METHODS)[number]; password: string }[] = [];
  for (const style of ["node", "c"] as const) {
    for (const text of [hex, hex.toUpperCase()]) {
      out.push({ style, signMethod: "hmacsha256", password: text });
      out.push({ style, signMethod: "hmacsha1", password: text.slice(0, 40) });
      out.push({ style, signMethod: "hmacmd5", password: text.slice(0, 32) });
      out.push({ style, signMethod: "hmacmd5", password: text.slice(32, 64) });
    }
  }
  return out;
}

describe("the verify answer is useless as a login", () => {
  const lookup = (id: { productKey: string; deviceName: string }) =>
    id.productKey === VECTOR_TRIAD.productKey && id.deviceName === VECTOR_TRIAD.deviceName ? SECRET : undefined;
  const NOW = 1_790_000_000_000;

  it("a verify MAC as the MQTT password (any case, any truncation) is refused with triad.bad_signature", () => {
    fc.assert(
      fc.property(arbInputs, (inputs) => {
        const mac = computeVerifyMac(SECRET, inputs.deviceNonce, inputs.stationNonce, inputs.chipId, inputs.recordHash);
        for (const { style, signMethod, password } of candidatePasswords(mac)) {
          const real = signConnect({ triad: VECTOR_TRIAD, style, signMethod, timestampMs: NOW });
          // The genuine login passes, so a refusal below is the signature check and nothing else.
          expect(verifyConnect(real, lookup).identity.deviceName).toBe(VECTOR_TRIAD.deviceName);
          expectTriadkitError(() => verifyConnect({ ...real, password }, lookup), "triad.bad_signature");
        }
      }),
      { numRuns: 50 },
    );
  });

  it("the verify key is not the secret, so even a MAC over a sign content is not a password", () => {
    const key = deriveVerifyKey(SECRET);
    expect(toHex(key)).not.toBe(toHex(utf8(SECRET)));
    expect(toHex(key)).not.toContain(toHex(utf8(SECRET)).slice(0, 16));
    expect(toHex(deriveVerifyKey(GENIE_TRIAD.secret))).not.toBe(GENIE_TRIAD.secret);
    // Suppose a station could choose the whole MAC input: with K_verify it still cannot produce the password.
    const creds = signConnect({ triad: VECTOR_TRIAD, timestampMs: NOW });
    const content = `clientId${VECTOR_TRIAD.productKey}&${VECTOR_TRIAD.deviceName}deviceName${VECTOR_TRIAD.deviceName}productKey${VECTOR_TRIAD.productKey}timestamp${NOW}`;
    const withVerifyKey = createHmac("sha256", key).update(content).digest("hex");
    const withSecret = createHmac("sha256", SECRET).update(content).digest("hex");
    expect(withSecret).toBe(creds.password);
    expect(withVerifyKey).not.toBe(creds.password);
  });

  it("the MAC input always starts with the fixed label: no caller-chosen prefix, never an MQTT sign content", () => {
    const prefix = concatBytes(utf8(FACTORY_VERIFY_LABEL), Uint8Array.of(0));
    fc.assert(
      fc.property(arbInputs, (inputs) => {
        const input = verifyMacInput(inputs.deviceNonce, inputs.stationNonce, inputs.chipId, inputs.recordHash);
        expect(toHex(input.subarray(0, prefix.length))).toBe(toHex(prefix));
        // Fixed layout: the length is determined by the chip id alone.
        expect(input.length).toBe(prefix.length + 16 + 16 + 1 + inputs.chipId.length + 32);
        expect(Buffer.from(input).toString("latin1").startsWith("clientId")).toBe(false);
      }),
    );
  });
});

describe("unlock / factory_reset authorisation", () => {
  it("lays out label ‖ 0x00 ‖ len ‖ action ‖ len ‖ chipId ‖ challenge", () => {
    expect(toHex(factoryAuthMessage("factory_reset", CHIP_ID, CHALLENGE))).toBe(
      toHex(
        concatBytes(
          utf8(FACTORY_AUTH_LABEL),
          Uint8Array.of(0, 13),
          utf8("factory_reset"),
          Uint8Array.of(16),
          utf8(CHIP_ID),
          CHALLENGE,
        ),
      ),
    );
  });

  it("accepts only the anchor's signature over this action, chip and challenge", () => {
    expect(toHex(factoryAnchorPublicKey(ANCHOR_SEED))).toBe(toHex(ANCHOR_PUBLIC_KEY));
    const sig = signFactoryAuth(ANCHOR_SEED, "unlock", CHIP_ID, CHALLENGE);
    expect(sig.length).toBe(64);
    expect(checkFactoryAuth(ANCHOR_PUBLIC_KEY, "unlock", CHIP_ID, CHALLENGE, sig)).toBe(true);
    expect(checkFactoryAuth(ANCHOR_PUBLIC_KEY, "factory_reset", CHIP_ID, CHALLENGE, sig)).toBe(false);
    expect(checkFactoryAuth(ANCHOR_PUBLIC_KEY, "unlock", "a1b2c3d4e5f60719", CHALLENGE, sig)).toBe(false);
    expect(checkFactoryAuth(ANCHOR_PUBLIC_KEY, "unlock", CHIP_ID, range(0xc1, 16), sig)).toBe(false);
    const other = factoryAnchorPublicKey(range(2, 32));
    expect(checkFactoryAuth(other, "unlock", CHIP_ID, CHALLENGE, sig)).toBe(false);
    const tampered = Uint8Array.from(sig);
    tampered[10] = (tampered[10] as number) ^ 0x20;
    expect(checkFactoryAuth(ANCHOR_PUBLIC_KEY, "unlock", CHIP_ID, CHALLENGE, tampered)).toBe(false);
  });

  it("refuses a malleated signature (S + L) and never throws on garbage", () => {
    const sig = signFactoryAuth(ANCHOR_SEED, "unlock", CHIP_ID, CHALLENGE);
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i] as number);
    const malleated = Uint8Array.from(sig);
    let t = s + L;
    for (let i = 32; i < 64; i++) {
      malleated[i] = Number(t & 0xffn);
      t >>= 8n;
    }
    expect(checkFactoryAuth(ANCHOR_PUBLIC_KEY, "unlock", CHIP_ID, CHALLENGE, malleated)).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), fc.uint8Array({ maxLength: 70 }), (key, signature) => {
        expect(checkFactoryAuth(key, "unlock", CHIP_ID, CHALLENGE, signature)).toBe(false);
      }),
    );
    expect(checkFactoryAuth(ANCHOR_PUBLIC_KEY, "lock" as never, CHIP_ID, CHALLENGE, sig)).toBe(false);
    expect(checkFactoryAuth(ANCHOR_PUBLIC_KEY, "unlock", "XYZ", CHALLENGE, sig)).toBe(false);
  });

  it("refuses malformed inputs", () => {
    expectTriadkitError(() => factoryAuthMessage("lock" as never, CHIP_ID, CHALLENGE), "factory.bad_message");
    expectTriadkitError(() => factoryAuthMessage("unlock", "short", CHALLENGE), "factory.bad_message");
    expectTriadkitError(() => factoryAuthMessage("unlock", CHIP_ID, range(0, 15)), "factory.bad_message");
    expectTriadkitError(() => signFactoryAuth(range(0, 31), "unlock", CHIP_ID, CHALLENGE), "config.invalid");
  });
});
