import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { toHex, utf8 } from "../util/bytes.js";
import { byteMutation, decodesOrCodedError, mutate, range } from "./__tests__/helpers.js";
import { decodeCborMap, encodeCbor } from "./cbor.js";
import {
  decodeProvMessage,
  decodeProvRequest,
  decodeProvResponse,
  encodeProvMessage,
  isValidWifiPassword,
  type ProvMessage,
  WIFI_AUTH_MODES,
  WIFI_FAILURE_REASONS,
} from "./messages.js";

const roundTrip = (m: ProvMessage) => decodeProvMessage(encodeProvMessage(m));

const SAMPLES: ProvMessage[] = [
  { type: "get_device_info", id: 1 },
  {
    type: "device_info",
    id: 1,
    firmware: "lamp-fw 1.4.2",
    productKey: "a1B2c3D4e5F",
    deviceName: "lamp-0001",
    capabilities: ["wifi_scan", "softap", "improv"],
    protocolVersion: 1,
    securityVersions: [1],
    state: "unprovisioned",
  },
  { type: "scan", id: 2, page: 0, pageSize: 4 },
  {
    type: "scan_result",
    id: 2,
    networks: [
      { ssid: "HomeNet", bssid: range(0x10, 6), rssi: -48, channel: 6, auth: "wpa2_psk" },
      { ssid: "咖啡店", rssi: -80, auth: "open" },
      { ssid: "", rssi: -90, auth: "wpa3_psk" },
    ],
    page: 0,
    total: 3,
  },
  { type: "set_credentials", id: 3, ssid: "HomeNet", password: "correct horse battery" },
  { type: "set_credentials", id: 4, ssid: "Open", password: "", bssid: range(1, 6) },
  { type: "set_credentials", id: 5, ssid: "PSK", password: "ab".repeat(32) },
  { type: "apply", id: 6 },
  { type: "get_status", id: 7 },
  { type: "status", id: 7, state: "connecting", attemptsLeft: 3 },
  { type: "status", id: 7, state: "failed", reason: "auth_error", attemptsLeft: 0 },
  { type: "status", id: 7, state: "connected", ip: "192.168.1.23" },
  { type: "status", id: 7, state: "idle" },
  { type: "reset", id: 8 },
  { type: "bind_token", id: 9, token: range(0x20, 16) },
  { type: "ok", id: 9 },
  { type: "error", id: 10, code: "no_credentials" },
  { type: "error", id: 4294967295, code: "future_code_2" },
];

describe("provisioning messages", () => {
  it("round-trip every message type", () => {
    for (const m of SAMPLES) expect(roundTrip(m)).toEqual(m);
  });

  it("encode as small CBOR maps with t and id first (pinned bytes)", () => {
    expect(toHex(encodeProvMessage({ type: "apply", id: 6 }))).toBe("a26174656170706c7962696406");
    expect(decodeCborMap(encodeProvMessage({ type: "scan", id: 2, page: 0, pageSize: 4 }), "x")).toEqual({
      t: "scan",
      id: 2,
      page: 0,
      pageSize: 4,
    });
    expect(toHex(encodeProvMessage({ type: "bind_token", id: 9, token: range(0x20, 16) }))).toBe(
      "a361746a62696e645f746f6b656e62696409657" + "46f6b656e50202122232425262728292a2b2c2d2e2f",
    );
  });

  it("ignores unknown keys, refuses unknown types and out-of-range ids", () => {
    expect(decodeProvMessage(encodeCbor({ t: "apply", id: 1, later: [1, 2] }))).toEqual({ type: "apply", id: 1 });
    for (const obj of [
      { t: "reboot", id: 1 },
      { id: 1 },
      { t: "apply" },
      { t: "apply", id: -1 },
      { t: "apply", id: 1.5 },
      { t: "apply", id: 2 ** 32 },
      { t: "apply", id: "1" },
      [1, 2],
    ]) {
      expectTriadkitError(() => decodeProvMessage(encodeCbor(obj)), "prov.bad_message");
    }
  });

  it("checks SSIDs by UTF-8 byte length", () => {
    const set = (ssid: string) => ({ type: "set_credentials" as const, id: 1, ssid, password: "" });
    expect(roundTrip(set("x".repeat(32)))).toMatchObject({ ssid: "x".repeat(32) });
    expect(roundTrip(set("é".repeat(16)))).toMatchObject({ ssid: "é".repeat(16) }); // 32 bytes
    for (const ssid of ["", "x".repeat(33), "é".repeat(17), "\uD800x", "a\uFFFDb"]) {
      expectTriadkitError(() => encodeProvMessage(set(ssid)), "prov.bad_message");
    }
  });

  it("checks passwords (empty, 8-63 printable ASCII, 64 hex) and never reveals them", () => {
    for (const ok of ["", "12345678", "x".repeat(63), "A".repeat(64), "0123456789abcdef".repeat(4), "sp ace s!~"]) {
      expect(isValidWifiPassword(ok)).toBe(true);
    }
    for (const bad of ["1234567", "x".repeat(64), "x".repeat(65), "pässwörter", "tab\there!", "g".repeat(64)]) {
      expect(isValidWifiPassword(bad)).toBe(false);
      const err = expectTriadkitError(
        () => encodeProvMessage({ type: "set_credentials", id: 1, ssid: "Net", password: bad }),
        "prov.bad_message",
      );
      const dump = JSON.stringify(err) + err.message;
      if (bad.length > 0) expect(dump).not.toContain(bad);
      expect(dump).not.toMatch(/length/);
    }
    const err = expectTriadkitError(
      () => decodeProvMessage(encodeCbor({ t: "set_credentials", id: 1, ssid: "Net", password: "hunter2" })),
      "prov.bad_message",
    );
    expect(JSON.stringify(err) + err.message).not.toContain("hunter2");
  });

  it("validates enums, sizes and status consistency", () => {
    const bad: Record<string, unknown>[] = [
      { t: "scan", id: 1, page: 0, pageSize: 0 },
      { t: "scan", id: 1, page: 0, pageSize: 17 },
      { t: "scan", id: 1, page: 70000, pageSize: 4 },
      { t: "set_credentials", id: 1, ssid: "a", password: "", bssid: range(0, 5) },
      { t: "bind_token", id: 1, token: range(0, 15) },
      { t: "status", id: 1, state: "sleeping" },
      { t: "status", id: 1, state: "connected", reason: "auth_error" },
      { t: "status", id: 1, state: "failed", reason: "bad_luck" },
      { t: "status", id: 1, state: "idle", ip: "10.0.0.1" },
      { t: "status", id: 1, state: "connected", ip: "10.0.0.256" },
      { t: "status", id: 1, state: "connected", ip: "010.0.0.1" },
      { t: "status", id: 1, state: "connected", attemptsLeft: 1 },
      { t: "error", id: 1, code: "Bad Code" },
      { t: "scan_result", id: 1, networks: [{ ssid: "a", rssi: 5, auth: "open" }], page: 0, total: 1 },
      { t: "scan_result", id: 1, networks: [{ ssid: "a", rssi: -5, auth: "wpa9" }], page: 0, total: 1 },
      { t: "scan_result", id: 1, networks: [{ ssid: "a", rssi: -5, channel: 0, auth: "open" }], page: 0, total: 1 },
      { t: "scan_result", id: 1, networks: ["a"], page: 0, total: 1 },
    ];
    const info = encodeProvMessage(SAMPLES[1] as ProvMessage);
    const infoObj = decodeCborMap(info, "x");
    for (const [key, value] of [
      ["capabilities", ["wifi_scan", "wifi_scan"]],
      ["capabilities", ["Wifi"]],
      ["securityVersions", []],
      ["securityVersions", [0]],
      ["state", "asleep"],
      ["deviceName", "ab"],
      ["productKey", "a/b"],
      ["firmware", "é"],
    ] as const) {
      bad.push({ ...infoObj, [key]: value });
    }
    for (const obj of bad) expectTriadkitError(() => decodeProvMessage(encodeCbor(obj)), "prov.bad_message");
  });

  it("decodeProvRequest and decodeProvResponse enforce the direction", () => {
    expect(decodeProvRequest(encodeProvMessage({ type: "apply", id: 1 }))).toEqual({ type: "apply", id: 1 });
    expect(decodeProvResponse(encodeProvMessage({ type: "ok", id: 1 }))).toEqual({ type: "ok", id: 1 });
    expectTriadkitError(() => decodeProvRequest(encodeProvMessage({ type: "ok", id: 1 })), "prov.bad_message");
    expectTriadkitError(() => decodeProvResponse(encodeProvMessage({ type: "apply", id: 1 })), "prov.bad_message");
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties

const WELL_FORMED = (s: string) => !/\p{Cs}|\uFFFD/u.test(s);
const text = (min: number, max: number) =>
  fc
    .string({ unit: "binary", minLength: min, maxLength: max })
    .filter((s) => WELL_FORMED(s) && utf8(s).length >= min && utf8(s).length <= max);
const id = fc.integer({ min: 0, max: 0xffffffff });
const password = fc.oneof(
  fc.constant(""),
  fc.stringMatching(/^[\x20-\x7e]{8,63}$/),
  fc.stringMatching(/^[0-9a-fA-F]{64}$/),
);
const network = fc.record(
  {
    ssid: text(0, 32),
    bssid: fc.uint8Array({ minLength: 6, maxLength: 6 }),
    rssi: fc.integer({ min: -128, max: 0 }),
    channel: fc.integer({ min: 1, max: 233 }),
    auth: fc.constantFrom(...WIFI_AUTH_MODES),
  },
  { requiredKeys: ["ssid", "rssi", "auth"] },
);
const status = fc.oneof(
  fc.record({ type: fc.constant("status" as const), id, state: fc.constant("idle" as const) }),
  fc.record(
    {
      type: fc.constant("status" as const),
      id,
      state: fc.constant("connecting" as const),
      attemptsLeft: fc.integer({ min: 0, max: 255 }),
    },
    { requiredKeys: ["type", "id", "state"] },
  ),
  fc.record(
    {
      type: fc.constant("status" as const),
      id,
      state: fc.constant("failed" as const),
      reason: fc.constantFrom(...WIFI_FAILURE_REASONS),
      attemptsLeft: fc.integer({ min: 0, max: 255 }),
    },
    { requiredKeys: ["type", "id", "state"] },
  ),
  fc.record(
    {
      type: fc.constant("status" as const),
      id,
      state: fc.constant("connected" as const),
      ip: fc.ipV4(),
    },
    { requiredKeys: ["type", "id", "state"] },
  ),
);
const message: fc.Arbitrary<ProvMessage> = fc.oneof(
  fc.record({ type: fc.constantFrom("get_device_info", "apply", "get_status", "reset", "ok" as const), id }),
  fc.record({
    type: fc.constant("scan" as const),
    id,
    page: fc.integer({ min: 0, max: 0xffff }),
    pageSize: fc.integer({ min: 1, max: 16 }),
  }),
  fc.record(
    {
      type: fc.constant("set_credentials" as const),
      id,
      ssid: text(1, 32),
      password,
      bssid: fc.uint8Array({ minLength: 6, maxLength: 6 }),
    },
    { requiredKeys: ["type", "id", "ssid", "password"] },
  ),
  fc.record({ type: fc.constant("bind_token" as const), id, token: fc.uint8Array({ minLength: 16, maxLength: 16 }) }),
  fc.record({
    type: fc.constant("device_info" as const),
    id,
    firmware: fc.stringMatching(/^[\x20-\x7e]{1,64}$/),
    productKey: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    deviceName: fc.stringMatching(/^[A-Za-z0-9_@.:-]{4,32}$/),
    capabilities: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,31}$/), { maxLength: 16 }),
    protocolVersion: fc.integer({ min: 1, max: 255 }),
    securityVersions: fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 8 }),
    state: fc.constantFrom("unprovisioned", "provisioning", "connected" as const),
  }),
  fc.record({
    type: fc.constant("scan_result" as const),
    id,
    networks: fc.array(network, { maxLength: 16 }),
    page: fc.integer({ min: 0, max: 0xffff }),
    total: fc.integer({ min: 0, max: 0xffff }),
  }),
  status,
  fc.record({ type: fc.constant("error" as const), id, code: fc.stringMatching(/^[a-z][a-z0-9_]{0,31}$/) }),
) as fc.Arbitrary<ProvMessage>;

const anyValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string({ unit: "binary", maxLength: 70 }),
  fc.uint8Array({ maxLength: 20 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 3 }),
);

describe("provisioning message properties", () => {
  it("every valid message round-trips", () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(roundTrip(m)).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });

  it("mutated bytes decode or throw prov.bad_message", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(message, byteMutation).map(([m, mut]) => mutate(encodeProvMessage(m), mut)),
          fc.uint8Array({ maxLength: 100 }),
        ),
        (bytes) => {
          const out = decodesOrCodedError(() => decodeProvMessage(bytes));
          if (out instanceof TriadkitError) expect(out.code).toBe("prov.bad_message");
          else expect(roundTrip(out)).toEqual(out);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("structurally mutated maps (a field replaced or removed) decode or throw prov.bad_message", () => {
    fc.assert(
      fc.property(message, fc.nat(), anyValue, fc.boolean(), (m, pick, value, remove) => {
        const obj = decodeCborMap(encodeProvMessage(m), "x");
        const keys = Object.keys(obj);
        const key = keys[pick % keys.length] as string;
        if (remove) delete obj[key];
        else obj[key] = value;
        const out = decodesOrCodedError(() => decodeProvMessage(encodeCbor(obj)));
        if (out instanceof TriadkitError) expect(out.code).toBe("prov.bad_message");
        else expect(roundTrip(out)).toEqual(out);
      }),
      { numRuns: 1000 },
    );
  });
});
