/**
 * Worked vectors of the factory protocol, pinned byte for byte (the same hex is in docs/factory-protocol.md).
 * Inputs: protocol/src/factory/__tests__/fixtures.ts. Cross-checked against node:zlib and node:crypto.
 */
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import { crc32 as zlibCrc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../util/bytes.js";
import {
  ANCHOR_PUBLIC_KEY,
  ANCHOR_SEED,
  CHALLENGE,
  CHIP_ID,
  HELLO_NONCE,
  VECTOR_DEVICE_NONCE,
  VECTOR_RECORD,
  VECTOR_TRIAD,
  VERIFY_STATION_NONCE,
} from "./__tests__/fixtures.js";
import { factoryAuthMessage, signFactoryAuth } from "./auth.js";
import { cobsDecode } from "./cobs.js";
import { decodeFactoryFrame } from "./framing.js";
import {
  decodeFactoryRequest,
  decodeFactoryResponse,
  encodeFactoryRequestFrame,
  encodeFactoryResponseFrame,
} from "./messages.js";
import { decodeFactoryRecord, encodeFactoryRecord, factoryRecordHash } from "./record.js";
import { computeVerifyMac, deriveVerifyKey, verifyMacInput } from "./verify.js";

const V = {
  helloBody: "a261746568656c6c6f6c73746174696f6e4e6f6e636550000102030405060708090a0b0c0d0e0f",
  helloFrame: "0301011901a261746568656c6c6f6c73746174696f6e4e6f6e636550140102030405060708090a0b0c0d0e0f6f315ea700",
  record:
    "a961760163706f70a3617601636b65795820857d6e1ff756ece0839b91ccc4961c250de459b17866aac915cb64657df46a80" +
    "6473616c7450000102030405060708090a0b0c0d0e0f657368656c66a26773746f726549641a0afe8bd56a646576696365" +
    "436f64656a38463641373743373345657472696164a46666616d696c7967616c69626162616a6465766963654e616d656f" +
    "666163746f72792d6465762d3030316a70726f647563744b65796b61314661635465737430316c64657669636553656372" +
    "65747820733363723374533363723374533363723374533363723374533363723374303166616e63686f72a266706f6f6c" +
    "496466706f6f6c2d61697075626c69634b6579582079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910b" +
    "ad04966467747269616449647819743030303130323033303430353036303730383039306130626973746174696f6e4964" +
    "6473742d31697772697474656e41741b000001a0c4506c006b776f726b4f7264657249646b574f2d323032362d303031",
  recordHash: "ceb3ffe01832cb328ff5b2a41652b1a87e31ad6e3c52c704f1f84db546b9d33c",
  verifyKey: "8e13ddf9310610db7d1eaf4dc89685cae0b3ec66d1b00d4df9e87c20d00ff036",
  verifyInput:
    "74726961646b69742f666163746f72792d7665726966792f763100a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" +
    "101112131415161718191a1b1c1d1e1f1061316232633364346535663630373138" +
    "ceb3ffe01832cb328ff5b2a41652b1a87e31ad6e3c52c704f1f84db546b9d33c",
  verifyMac: "fd125ec5f8b1c90675a9d1fc50590f8131dd36cd3ddf05ae338c56561353e65a",
  verifiedFrame:
    "0301028203a461746876657269666965646b6465766963654e6f6e636550a0a1a2a3a4a5a6a7a8a9aaabacadaeaf6a7265" +
    "636f7264486173685820ceb3ffe01832cb328ff5b2a41652b1a87e31ad6e3c52c704f1f84db546b9d33c636d61635820fd" +
    "125ec5f8b1c90675a9d1fc50590f8131dd36cd3ddf05ae338c56561353e65a9b9f8a3600",
  anchorPublicKey: "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664",
  authMessage:
    "74726961646b69742f666163746f72792d617574682f76310006756e6c6f636b1061316232633364346535663630373138" +
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf",
  authSignature:
    "5e3b9f2a9e44ef9462edb6a5351d510b321442612168270f8a864bec7f6c0986" +
    "e3b53df21fb3e1ab1a3ad1884f377bafd507af9f413374b3d41c4f2da5c9b609",
};

describe("factory worked vectors", () => {
  it("hello request frame (requestId 1, stationNonce 00..0f)", () => {
    const frame = encodeFactoryRequestFrame(1, { t: "hello", stationNonce: HELLO_NONCE });
    expect(toHex(frame)).toBe(V.helloFrame);
    const packet = cobsDecode(frame.subarray(0, -1)) as Uint8Array;
    expect(toHex(packet)).toBe(
      `01010001${V.helloBody}${(zlibCrc32(packet.subarray(0, -4)) >>> 0).toString(16).padStart(8, "0")}`,
    );
    expect(decodeFactoryRequest(decodeFactoryFrame(frame.subarray(0, -1)).body)).toEqual({
      t: "hello",
      stationNonce: HELLO_NONCE,
    });
  });

  it("record encoding and record hash", () => {
    expect(toHex(encodeFactoryRecord(VECTOR_RECORD))).toBe(V.record);
    expect(toHex(factoryRecordHash(VECTOR_RECORD))).toBe(V.recordHash);
    expect(toHex(ANCHOR_PUBLIC_KEY)).toBe(V.anchorPublicKey);
    expect(decodeFactoryRecord(fromHex(V.record))).toEqual(VECTOR_RECORD);
  });

  it("verify key, MAC input and MAC", () => {
    const hash = fromHex(V.recordHash);
    expect(toHex(deriveVerifyKey(VECTOR_TRIAD.deviceSecret))).toBe(V.verifyKey);
    expect(toHex(verifyMacInput(VECTOR_DEVICE_NONCE, VERIFY_STATION_NONCE, CHIP_ID, hash))).toBe(V.verifyInput);
    const mac = computeVerifyMac(VECTOR_TRIAD.deviceSecret, VECTOR_DEVICE_NONCE, VERIFY_STATION_NONCE, CHIP_ID, hash);
    expect(toHex(mac)).toBe(V.verifyMac);
  });

  it("verified response frame (requestId 3)", () => {
    const response = {
      t: "verified" as const,
      deviceNonce: VECTOR_DEVICE_NONCE,
      recordHash: fromHex(V.recordHash),
      mac: fromHex(V.verifyMac),
    };
    const frame = encodeFactoryResponseFrame(3, response);
    expect(toHex(frame)).toBe(V.verifiedFrame);
    const packet = decodeFactoryFrame(frame.subarray(0, -1));
    expect(packet).toMatchObject({ version: 1, kind: "response", requestId: 3 });
    expect(decodeFactoryResponse(packet.body)).toEqual(response);
  });

  it("unlock authorisation message and its Ed25519 signature (checked with node:crypto)", () => {
    expect(toHex(factoryAuthMessage("unlock", CHIP_ID, CHALLENGE))).toBe(V.authMessage);
    const sig = signFactoryAuth(ANCHOR_SEED, "unlock", CHIP_ID, CHALLENGE);
    expect(toHex(sig)).toBe(V.authSignature);
    const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), ANCHOR_PUBLIC_KEY]);
    const key = createPublicKey({ key: spki, format: "der", type: "spki" });
    expect(nodeVerify(null, fromHex(V.authMessage), key, sig)).toBe(true);
  });

  it("docs/factory-protocol.md prints the same hex, each in its own section", () => {
    const doc = readFileSync(new URL("../../../docs/factory-protocol.md", import.meta.url), "utf8");
    const worked = doc.slice(doc.indexOf("## Worked vectors"), doc.indexOf("## API"));
    const sections = worked.split(/\n\*\*/);
    /** A section's hex: code-block hex tokens (before the first other word, after an optional `name =`) and inline hex. */
    const hexOf = (prefix: string) => {
      const text = sections.find((sec) => sec.startsWith(prefix)) ?? "";
      const blocks = [...text.matchAll(/```\n([\s\S]*?)```/g)].map((m) =>
        (m[1] as string)
          .split("\n")
          .map((line) => {
            const tokens = line
              .replace(/^\s*[A-Za-z_]+\s*=\s*/, "")
              .trim()
              .split(/\s+/);
            const end = tokens.findIndex((t) => !/^[0-9a-f]+$/.test(t));
            return tokens.slice(0, end === -1 ? tokens.length : end).join("");
          })
          .join(""),
      );
      return [...blocks, ...[...text.matchAll(/`([0-9a-f]+)`/g)].map((m) => m[1])].join("|");
    };
    const where: Record<keyof typeof V, string> = {
      helloBody: "1.",
      helloFrame: "1.",
      record: "2.",
      recordHash: "3.",
      verifyKey: "4.",
      verifyInput: "4.",
      verifyMac: "4.",
      verifiedFrame: "5.",
      anchorPublicKey: "Inputs.",
      authMessage: "6.",
      authSignature: "6.",
    };
    for (const [name, hex] of Object.entries(V)) {
      if (name === "helloBody") continue;
      expect(hexOf(where[name as keyof typeof V]), name).toContain(hex);
    }
  });
});
