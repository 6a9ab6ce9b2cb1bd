import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { byteMutation, mutate } from "../provisioning/__tests__/helpers.js";
import { decodeCborMap, encodeCbor } from "../provisioning/cbor.js";
import { expectTriadkitError } from "../testing.js";
import { toHex } from "../util/bytes.js";
import { blankHello, CHALLENGE, GENIE_TRIAD, range, VECTOR_RECORD, VECTOR_TRIAD } from "./__tests__/fixtures.js";
import { decodeFactoryFrame } from "./framing.js";
import {
  decodeFactoryRequest,
  decodeFactoryResponse,
  encodeFactoryRequest,
  encodeFactoryRequestFrame,
  encodeFactoryResponse,
  encodeFactoryResponseFrame,
  expectFactoryResponse,
  FACTORY_RESPONSE_OF,
  isFactoryResponseTo,
} from "./messages.js";
import { encodeFactoryRecord, factoryIdentityOf, factoryRecordHash } from "./record.js";
import { FACTORY_ERROR_CODES, type FactoryRequest, type FactoryResponse } from "./types.js";

const hash = factoryRecordHash(VECTOR_RECORD);
const provisioned = blankHello({
  state: "provisioned",
  identity: factoryIdentityOf(VECTOR_TRIAD),
  recordHash: hash,
  workOrderId: VECTOR_RECORD.workOrderId,
  triadId: VECTOR_RECORD.triadId,
  modem: { imei: "869012345678903", iccid: "89860321234567890122", imsi: "460011234567890" },
});

const requests: FactoryRequest[] = [
  { t: "hello", stationNonce: range(0, 16) },
  { t: "write_record", record: VECTOR_RECORD },
  { t: "write_record", record: { ...VECTOR_RECORD, triad: GENIE_TRIAD, shelf: undefined } as never },
  { t: "verify", stationNonce: range(16, 16) },
  { t: "lock" },
  { t: "unlock", signature: range(0, 64) },
  { t: "factory_reset", signature: range(64, 64) },
];
const responses: FactoryResponse[] = [
  blankHello(),
  blankHello({ bleMac: undefined }),
  provisioned,
  { ...provisioned, state: "locked", identity: factoryIdentityOf(GENIE_TRIAD), modem: { imsi: "310150123456789" } },
  { t: "written", recordHash: hash },
  { t: "verified", deviceNonce: range(0xa0, 16), recordHash: hash, mac: range(0, 32) },
  { t: "ok", state: "locked" },
  ...FACTORY_ERROR_CODES.map((code) => ({ t: "error" as const, code })),
  { t: "error", code: "locked", message: "device is locked: unlock first" },
];

/** Drops undefined entries, as the decoder's output has none. */
const defined = <T>(x: T): T => JSON.parse(JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? toHex(v) : v)));

describe("factory messages", () => {
  it.each(requests.map((r) => [r.t, r] as const))("round-trips request %s", (_, request) => {
    const body = encodeFactoryRequest(request);
    expect(defined(decodeFactoryRequest(body))).toEqual(defined(request));
    expect(toHex(encodeFactoryRequest(decodeFactoryRequest(body)))).toBe(toHex(body));
  });

  it.each(responses.map((r) => [r.t, r] as const))("round-trips response %s", (_, response) => {
    const body = encodeFactoryResponse(response);
    expect(defined(decodeFactoryResponse(body))).toEqual(defined(response));
    expect(toHex(encodeFactoryResponse(decodeFactoryResponse(body)))).toBe(toHex(body));
  });

  it("carries write_record's record as the byte string of its deterministic encoding", () => {
    const wire = decodeCborMap(encodeFactoryRequest({ t: "write_record", record: VECTOR_RECORD }), "x");
    expect(toHex(wire.record as Uint8Array)).toBe(toHex(encodeFactoryRecord(VECTOR_RECORD)));
  });

  it("puts t first and the fields in wire order, dropping extras", () => {
    const body = encodeFactoryResponse({ ...provisioned, extra: 1, deviceSecret: "x" } as never);
    expect(Object.keys(decodeCborMap(body, "x"))).toEqual([
      "t",
      "protocolVersion",
      "chipId",
      "wifiMac",
      "bleMac",
      "model",
      "firmware",
      "state",
      "identity",
      "recordHash",
      "workOrderId",
      "triadId",
      "modem",
      "challenge",
    ]);
  });

  it("never lets a hello carry a secret in its identity", () => {
    const body = encodeFactoryResponse({ ...provisioned, identity: VECTOR_TRIAD } as never);
    expect(Buffer.from(body).toString("latin1")).not.toContain(VECTOR_TRIAD.deviceSecret);
  });

  it("ignores unknown keys on decode (a newer peer may add optional fields)", () => {
    const body = encodeCbor({ t: "lock", future: [1, 2] });
    expect(decodeFactoryRequest(body)).toEqual({ t: "lock" });
  });

  it("refuses out-of-range fields on encode and decode, naming the field", () => {
    const badRequests: [string, unknown][] = [
      ["t", { t: "format" }],
      ["stationNonce", { t: "hello", stationNonce: range(0, 15) }],
      ["stationNonce", { t: "verify", stationNonce: range(0, 17) }],
      ["signature", { t: "unlock", signature: range(0, 63) }],
      ["signature", { t: "factory_reset" }],
    ];
    for (const [field, request] of badRequests) {
      expect(expectTriadkitError(() => encodeFactoryRequest(request as never), "factory.bad_message").context).toEqual({
        field,
      });
      const body = encodeCbor(request);
      expect(expectTriadkitError(() => decodeFactoryRequest(body), "factory.bad_message").context).toEqual({ field });
    }
    const badResponses: [string, Partial<FactoryResponse> | Record<string, unknown>][] = [
      ["protocolVersion", { protocolVersion: 0 }],
      ["chipId", { chipId: "A1B2C3D4" }],
      ["chipId", { chipId: "a1b2c3" }],
      ["chipId", { chipId: "a".repeat(65) }],
      ["wifiMac", { wifiMac: "28:fa:7a:5c:00:01" }],
      ["bleMac", { bleMac: "28FA7A5C0002" }],
      ["model", { model: "" }],
      ["firmware", { firmware: "1.0\u00e9" }],
      ["firmware", { firmware: "x".repeat(65) }],
      ["state", { state: "bricked" }],
      ["identity", { identity: factoryIdentityOf(VECTOR_TRIAD) }],
      ["recordHash", { recordHash: hash }],
      ["challenge", { challenge: range(0, 8) }],
      ["modem", { modem: {} }],
      ["modem.imei", { modem: { imei: "123456789012345" } }],
      ["modem.iccid", { modem: { iccid: "89860321234567890122F" } }],
      ["modem.imsi", { modem: { imsi: "46001" } }],
    ];
    for (const [field, patch] of badResponses) {
      const response = { ...blankHello(), ...patch };
      expect(
        expectTriadkitError(() => encodeFactoryResponse(response as never), "factory.bad_message").context,
      ).toEqual({
        field,
      });
    }
    const others: [string, unknown][] = [
      ["identity", { ...provisioned, identity: undefined }],
      ["recordHash", { ...provisioned, recordHash: undefined }],
      ["identity.deviceName", { ...provisioned, identity: { family: "alibaba", productKey: "a1", deviceName: "x" } }],
      ["identity.mac", { ...provisioned, identity: { family: "genie", productId: 1, mac: "zz" } }],
      ["recordHash", { t: "written", recordHash: range(0, 31) }],
      ["mac", { t: "verified", deviceNonce: range(0, 16), recordHash: hash, mac: range(0, 16) }],
      ["state", { t: "ok", state: "open" }],
      ["code", { t: "error", code: "exploded" }],
      ["message", { t: "error", code: "locked", message: "a\u0007b" }],
    ];
    for (const [field, response] of others) {
      expect(
        expectTriadkitError(() => encodeFactoryResponse(response as never), "factory.bad_message").context,
      ).toEqual({
        field,
      });
    }
  });

  it("never puts a record's secret into an error", () => {
    const bad = { ...VECTOR_RECORD, triad: { ...VECTOR_TRIAD, deviceSecret: `${VECTOR_TRIAD.deviceSecret} ` } };
    const err = expectTriadkitError(
      () => encodeFactoryRequest({ t: "write_record", record: bad }),
      "factory.bad_message",
    );
    expect(JSON.stringify(err)).not.toContain(VECTOR_TRIAD.deviceSecret);
    expect(err.message).not.toContain(VECTOR_TRIAD.deviceSecret);
  });

  it("random and mutated bodies decode or fail with factory.bad_message", () => {
    const bodies = [...requests.map(encodeFactoryRequest), ...responses.map(encodeFactoryResponse)];
    fc.assert(
      fc.property(fc.constantFrom(...bodies), fc.array(byteMutation, { maxLength: 4 }), (body, ms) => {
        const bytes = ms.reduce(mutate, body);
        for (const decode of [decodeFactoryRequest, decodeFactoryResponse]) {
          try {
            decode(bytes);
          } catch (err) {
            expect(err).toMatchObject({ code: "factory.bad_message" });
          }
        }
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const decode of [decodeFactoryRequest, decodeFactoryResponse]) {
          try {
            decode(bytes);
          } catch (err) {
            expect(err).toMatchObject({ code: "factory.bad_message" });
          }
        }
      }),
    );
  });

  it("pairs requests with their success responses", () => {
    expect(FACTORY_RESPONSE_OF).toEqual({
      hello: "hello",
      write_record: "written",
      verify: "verified",
      lock: "ok",
      unlock: "ok",
      factory_reset: "ok",
    });
    expect(isFactoryResponseTo("verify", { t: "ok", state: "locked" })).toBe(false);
    expect(expectFactoryResponse("lock", { t: "error", code: "no_record" })).toMatchObject({ t: "error" });
    expectTriadkitError(() => expectFactoryResponse("verify", { t: "ok", state: "locked" }), "factory.bad_message");
  });

  it("builds whole request and response frames", () => {
    const frame = encodeFactoryRequestFrame(7, { t: "lock" });
    const packet = decodeFactoryFrame(frame.subarray(0, -1));
    expect(packet).toMatchObject({ version: 1, kind: "request", requestId: 7 });
    expect(decodeFactoryRequest(packet.body)).toEqual({ t: "lock" });
    const reply = decodeFactoryFrame(encodeFactoryResponseFrame(7, blankHello()).subarray(0, -1));
    expect(reply).toMatchObject({ kind: "response", requestId: 7 });
    expect(decodeFactoryResponse(reply.body)).toMatchObject({ t: "hello", challenge: CHALLENGE });
  });
});
