import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectTriadkitError } from "../testing.js";
import { fromUtf8, utf8 } from "../util/bytes.js";
import { assertDecoderTotal } from "./__tests__/fuzz.js";
import {
  BINDING_EVENTS,
  type BindingChanged,
  type BindingHeartbeat,
  bindingEventTopic,
  DEVICEINFO_UPDATE_METHOD,
  decodeBindingChanged,
  decodeBindingEvent,
  decodeBindingHeartbeat,
  decodeIdentityReport,
  decodeSimRemoved,
  encodeBindingChanged,
  encodeBindingHeartbeat,
  encodeIdentityReport,
  encodeSimRemoved,
  eventMethod,
  IDENTITY_ATTR_KEYS,
  type IdentityReport,
  type SimRemoved,
} from "./carriers.js";
import { decodeRequest, encodeRequest } from "./envelope.js";
import { parseTopic } from "./topics.js";

const identity: IdentityReport = {
  imei: "490154203237518",
  iccid: "89860620180012345678",
  imsi: "460061234567890",
  modem: "Quectel EC200U-CN",
};

const heartbeat: BindingHeartbeat = {
  imei: "490154203237518",
  iccid: "89860620180012345678",
  imsi: "460061234567890",
  epoch: 3,
  bootId: "6f1c2a9e",
  seq: 17,
  uptimeS: 3600,
  rssiDbm: -71,
  ts: 1700000000000,
};

const changed: BindingChanged = {
  old: { imei: "490154203237518", iccid: "89860620180012345678", imsi: "460061234567890" },
  new: { imei: "490154203237518", iccid: "89860118802125432109", imsi: "460011234567890" },
  epoch: 4,
  bootId: "6f1c2a9e",
  ts: 1700000060000,
};

const removed: SimRemoved = {
  imei: "490154203237518",
  lastIccid: "89860620180012345678",
  epoch: 4,
  bootId: "6f1c2a9e",
  ts: 1700000120000,
};

describe("identity report (thing.deviceinfo.update)", () => {
  it("encodes the tag list in a fixed order", () => {
    expect(fromUtf8(encodeIdentityReport(identity, "7"))).toBe(
      '{"id":"7","version":"1.0","params":[' +
        '{"attrKey":"imei","attrValue":"490154203237518"},' +
        '{"attrKey":"iccid","attrValue":"89860620180012345678"},' +
        '{"attrKey":"imsi","attrValue":"460061234567890"},' +
        '{"attrKey":"modem","attrValue":"Quectel EC200U-CN"}' +
        '],"method":"thing.deviceinfo.update"}',
    );
    const shelf = { ...identity, shelfStoreId: "184454101", shelfDeviceCode: "8F6A77C73E" };
    expect(fromUtf8(encodeIdentityReport(shelf, "8", { ack: 0 }))).toBe(
      '{"id":"8","version":"1.0","sys":{"ack":0},"params":[' +
        '{"attrKey":"imei","attrValue":"490154203237518"},' +
        '{"attrKey":"iccid","attrValue":"89860620180012345678"},' +
        '{"attrKey":"imsi","attrValue":"460061234567890"},' +
        '{"attrKey":"modem","attrValue":"Quectel EC200U-CN"},' +
        '{"attrKey":"shelfStoreId","attrValue":"184454101"},' +
        '{"attrKey":"shelfDeviceCode","attrValue":"8F6A77C73E"}' +
        '],"method":"thing.deviceinfo.update"}',
    );
    expect(decodeIdentityReport(encodeIdentityReport(shelf, "8"))).toEqual({ id: "8", value: shelf });
    expect(IDENTITY_ATTR_KEYS).toEqual(["imei", "iccid", "imsi", "modem", "shelfStoreId", "shelfDeviceCode"]);
  });

  it("decodes in any order, ignoring other tags and extra members", () => {
    const bytes = encodeRequest({
      id: "9",
      method: DEVICEINFO_UPDATE_METHOD,
      params: [
        { attrKey: "SYS_SDK_LANGUAGE", attrValue: "C", domain: "SYSTEM" },
        { attrKey: "modem", attrValue: "SIM7600" },
        { attrKey: "imsi", attrValue: "460011234567890" },
        { attrKey: "iccid", attrValue: "8986011880212543210F", domain: "SYSTEM" },
        { attrKey: "imei", attrValue: "86123456789012" },
      ],
    });
    expect(decodeIdentityReport(bytes)).toEqual({
      id: "9",
      value: { imei: "86123456789012", iccid: "8986011880212543210F", imsi: "460011234567890", modem: "SIM7600" },
    });
  });

  it("refuses missing, duplicated or malformed tags", () => {
    const tags = (list: unknown[]) => encodeRequest({ id: "1", method: DEVICEINFO_UPDATE_METHOD, params: list });
    const base = [
      { attrKey: "imei", attrValue: "490154203237518" },
      { attrKey: "iccid", attrValue: "89860620180012345678" },
      { attrKey: "imsi", attrValue: "460061234567890" },
      { attrKey: "modem", attrValue: "EC200U" },
    ];
    const cases: [unknown[], string][] = [
      [base.slice(1), 'params tag "imei"'],
      [[...base, { attrKey: "imei", attrValue: "490154203237518" }], "params[4].attrKey"],
      [[...base.slice(0, 3), { attrKey: "modem", attrValue: " EC200U" }], "params[3].attrValue"],
      [[{ attrKey: "imei", attrValue: 490154203237518 }, ...base.slice(1)], "params[0].attrValue"],
      [[{ attrKey: "imei", attrValue: "4901-5420" }, ...base.slice(1)], "params[0].attrValue"],
      [[{ attrKey: "imei", attrValue: "" }, ...base.slice(1)], "params[0].attrValue"],
      [[{ attrKey: "iccid" }, ...base], "params[0].attrValue"],
      [["imei", ...base], "params[0]"],
      [[{ attrValue: "x" }, ...base], "params[0].attrKey"],
      [[...base, { attrKey: "shelfStoreId", attrValue: "18 44" }], "params[4].attrValue"],
    ];
    for (const [list, field] of cases) {
      const err = expectTriadkitError(() => decodeIdentityReport(tags(list)), "alink.bad_payload");
      expect(err.context?.["field"], JSON.stringify(list)).toBe(field);
    }
    const wrongMethod = encodeRequest({ id: "1", method: "thing.deviceinfo.delete", params: base });
    expectTriadkitError(() => decodeIdentityReport(wrongMethod), "alink.bad_payload");
    const objectParams = encodeRequest({ id: "1", method: DEVICEINFO_UPDATE_METHOD, params: { imei: "1" } });
    expectTriadkitError(() => decodeIdentityReport(objectParams), "alink.bad_payload");
    expectTriadkitError(() => encodeIdentityReport({ ...identity, imsi: "" }, "1"), "alink.bad_payload");
    expectTriadkitError(() => encodeIdentityReport({ ...identity, modem: "x".repeat(129) }, "1"), "alink.bad_payload");
    expectTriadkitError(() => encodeIdentityReport(identity, ""), "alink.bad_payload");
  });
});

describe("binding events", () => {
  it("go to the event topic with the event method", () => {
    const dev = { productKey: "a1B2c3D4e5F", deviceName: "dev001" };
    expect(bindingEventTopic(dev, BINDING_EVENTS.heartbeat)).toBe(
      "/sys/a1B2c3D4e5F/dev001/thing/event/BindingHeartbeat/post",
    );
    expect(parseTopic(bindingEventTopic(dev, "SimRemoved"))).toEqual({
      kind: "event.post",
      ...dev,
      identifier: "SimRemoved",
    });
    expect(eventMethod("BindingChanged")).toBe("thing.event.BindingChanged.post");
  });

  it("BindingHeartbeat encodes value + time", () => {
    expect(fromUtf8(encodeBindingHeartbeat(heartbeat, "11"))).toBe(
      '{"id":"11","version":"1.0","params":{"value":{"imei":"490154203237518","iccid":"89860620180012345678",' +
        '"imsi":"460061234567890","epoch":3,"bootId":"6f1c2a9e","seq":17,"uptimeS":3600,"rssiDbm":-71},' +
        '"time":1700000000000},"method":"thing.event.BindingHeartbeat.post"}',
    );
    const { rssiDbm: _, ...noRssi } = heartbeat;
    expect(fromUtf8(encodeBindingHeartbeat(noRssi, "12", { ack: 1 }))).toBe(
      '{"id":"12","version":"1.0","sys":{"ack":1},"params":{"value":{"imei":"490154203237518",' +
        '"iccid":"89860620180012345678","imsi":"460061234567890","epoch":3,"bootId":"6f1c2a9e","seq":17,' +
        '"uptimeS":3600},"time":1700000000000},"method":"thing.event.BindingHeartbeat.post"}',
    );
    expect(decodeBindingHeartbeat(encodeBindingHeartbeat(heartbeat, "11"))).toEqual({ id: "11", value: heartbeat });
    expect(decodeBindingHeartbeat(encodeBindingHeartbeat(noRssi, "12"))).toEqual({ id: "12", value: noRssi });
  });

  it("BindingChanged and SimRemoved encode exactly", () => {
    expect(fromUtf8(encodeBindingChanged(changed, "13"))).toBe(
      '{"id":"13","version":"1.0","params":{"value":{' +
        '"old":{"imei":"490154203237518","iccid":"89860620180012345678","imsi":"460061234567890"},' +
        '"new":{"imei":"490154203237518","iccid":"89860118802125432109","imsi":"460011234567890"},' +
        '"epoch":4,"bootId":"6f1c2a9e"},"time":1700000060000},"method":"thing.event.BindingChanged.post"}',
    );
    expect(fromUtf8(encodeSimRemoved(removed, "14"))).toBe(
      '{"id":"14","version":"1.0","params":{"value":{"imei":"490154203237518","lastIccid":"89860620180012345678",' +
        '"epoch":4,"bootId":"6f1c2a9e"},"time":1700000120000},"method":"thing.event.SimRemoved.post"}',
    );
    expect(decodeBindingChanged(encodeBindingChanged(changed, "13"))).toEqual({ id: "13", value: changed });
    expect(decodeSimRemoved(encodeSimRemoved(removed, "14"))).toEqual({ id: "14", value: removed });
  });

  it("decodeBindingEvent dispatches on the method", () => {
    expect(decodeBindingEvent(encodeBindingHeartbeat(heartbeat, "1"))).toEqual({
      id: "1",
      value: { kind: "BindingHeartbeat", ...heartbeat },
    });
    expect(decodeBindingEvent(encodeBindingChanged(changed, "2"))).toEqual({
      id: "2",
      value: { kind: "BindingChanged", ...changed },
    });
    expect(decodeBindingEvent(encodeSimRemoved(removed, "3"))).toEqual({
      id: "3",
      value: { kind: "SimRemoved", ...removed },
    });
    const other = encodeRequest({ id: "4", method: "thing.event.Other.post", params: { value: {}, time: 1 } });
    expectTriadkitError(() => decodeBindingEvent(other), "alink.bad_payload");
  });

  it("decoders tolerate extra members but refuse the wrong method", () => {
    const request = decodeRequest(encodeBindingHeartbeat(heartbeat, "5"));
    const params = request.params as { value: Record<string, unknown>; time: number };
    const extended = encodeRequest({
      ...request,
      params: { ...params, value: { ...params.value, batteryMv: 3700 }, extra: 1 },
    });
    expect(decodeBindingHeartbeat(extended).value).toEqual(heartbeat);
    expectTriadkitError(() => decodeSimRemoved(encodeBindingHeartbeat(heartbeat, "5")), "alink.bad_payload");
  });

  it("encoders validate every field", () => {
    const badHeartbeats: [Partial<Record<keyof BindingHeartbeat, unknown>>, string][] = [
      [{ imei: "" }, "params.value.imei"],
      [{ iccid: "8986 0620" }, "params.value.iccid"],
      [{ imsi: "4".repeat(33) }, "params.value.imsi"],
      [{ epoch: -1 }, "params.value.epoch"],
      [{ epoch: 2 ** 31 }, "params.value.epoch"],
      [{ seq: 1.5 }, "params.value.seq"],
      [{ uptimeS: "60" }, "params.value.uptimeS"],
      [{ rssiDbm: 1 }, "params.value.rssiDbm"],
      [{ rssiDbm: -151 }, "params.value.rssiDbm"],
      [{ rssiDbm: -70.5 }, "params.value.rssiDbm"],
      [{ bootId: "boot id" }, "params.value.bootId"],
      [{ bootId: "b".repeat(65) }, "params.value.bootId"],
      [{ ts: -1 }, "params.time"],
      [{ ts: 2 ** 53 }, "params.time"],
    ];
    for (const [patch, field] of badHeartbeats) {
      const err = expectTriadkitError(
        () => encodeBindingHeartbeat({ ...heartbeat, ...patch } as BindingHeartbeat, "1"),
        "alink.bad_payload",
      );
      expect(err.context?.["field"], JSON.stringify(patch)).toBe(field);
    }
    const err = expectTriadkitError(
      () => encodeBindingChanged({ ...changed, new: { ...changed.new, iccid: "" } }, "1"),
      "alink.bad_payload",
    );
    expect(err.context?.["field"]).toBe("params.value.new.iccid");
    expectTriadkitError(() => encodeBindingChanged({ ...changed, old: null as never }, "1"), "alink.bad_payload");
    expectTriadkitError(() => encodeSimRemoved({ ...removed, lastIccid: "x-y" }, "1"), "alink.bad_payload");
  });

  it("decoders refuse wrong shapes", () => {
    const method = eventMethod("BindingHeartbeat");
    const value = JSON.parse(fromUtf8(encodeBindingHeartbeat(heartbeat, "1"))).params.value;
    const cases: [unknown, string][] = [
      [{ value }, "params.time"],
      [{ value, time: "1700000000000" }, "params.time"],
      [{ time: 1 }, "params.value"],
      [{ value: [value], time: 1 }, "params.value"],
      [[{ value, time: 1 }], "params"],
    ];
    for (const [params, field] of cases) {
      const err = expectTriadkitError(
        () => decodeBindingHeartbeat(encodeRequest({ id: "1", method, params })),
        "alink.bad_payload",
      );
      expect(err.context?.["field"]).toBe(field);
    }
    expectTriadkitError(() => decodeBindingHeartbeat(utf8("{}")), "alink.bad_payload");
  });
});

// ---------------------------------------------------------------------------------------------------------------

const telecom = fc.stringMatching(/^[0-9A-Za-z]{1,32}$/);
const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9]{${min},${max}}$`));
const int32 = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const bootId = fc.stringMatching(/^[0-9A-Za-z_-]{1,64}$/);
const ts = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const sim = fc.record({ imei: telecom, iccid: telecom, imsi: telecom });
const id = fc.nat().map(String);

const identityArb: fc.Arbitrary<IdentityReport> = fc.record(
  {
    imei: digits(15, 15),
    iccid: digits(19, 20),
    imsi: digits(15, 15),
    modem: fc.stringMatching(/^[\x21-\x7e](?:[\x20-\x7e]{0,100}[\x21-\x7e])?$/),
    shelfStoreId: digits(1, 12),
    shelfDeviceCode: fc.stringMatching(/^[0-9A-F]{10}$/),
  },
  { requiredKeys: ["imei", "iccid", "imsi", "modem"] },
);

const heartbeatArb: fc.Arbitrary<BindingHeartbeat> = fc.record(
  {
    imei: telecom,
    iccid: telecom,
    imsi: telecom,
    epoch: int32,
    bootId,
    seq: int32,
    uptimeS: int32,
    rssiDbm: fc.integer({ min: -150, max: 0 }),
    ts,
  },
  { requiredKeys: ["imei", "iccid", "imsi", "epoch", "bootId", "seq", "uptimeS", "ts"] },
);
const changedArb: fc.Arbitrary<BindingChanged> = fc.record({ old: sim, new: sim, epoch: int32, bootId, ts });
const removedArb: fc.Arbitrary<SimRemoved> = fc.record({ imei: telecom, lastIccid: telecom, epoch: int32, bootId, ts });

describe("properties", () => {
  it("encode → decode round-trips", () => {
    fc.assert(
      fc.property(id, identityArb, (i, v) => {
        expect(decodeIdentityReport(encodeIdentityReport(v, i))).toEqual({ id: i, value: v });
      }),
    );
    fc.assert(
      fc.property(id, heartbeatArb, (i, v) => {
        expect(decodeBindingHeartbeat(encodeBindingHeartbeat(v, i))).toEqual({ id: i, value: v });
        expect(decodeBindingEvent(encodeBindingHeartbeat(v, i)).value).toEqual({ kind: "BindingHeartbeat", ...v });
      }),
    );
    fc.assert(
      fc.property(id, changedArb, (i, v) => {
        expect(decodeBindingChanged(encodeBindingChanged(v, i))).toEqual({ id: i, value: v });
      }),
    );
    fc.assert(
      fc.property(id, removedArb, (i, v) => {
        expect(decodeSimRemoved(encodeSimRemoved(v, i))).toEqual({ id: i, value: v });
      }),
    );
  });

  it("decoders are total", () => {
    assertDecoderTotal(
      decodeIdentityReport,
      fc.tuple(id, identityArb).map(([i, v]) => encodeIdentityReport(v, i)),
    );
    assertDecoderTotal(
      decodeBindingHeartbeat,
      fc.tuple(id, heartbeatArb).map(([i, v]) => encodeBindingHeartbeat(v, i)),
    );
    assertDecoderTotal(
      decodeBindingChanged,
      fc.tuple(id, changedArb).map(([i, v]) => encodeBindingChanged(v, i)),
    );
    assertDecoderTotal(
      decodeSimRemoved,
      fc.tuple(id, removedArb).map(([i, v]) => encodeSimRemoved(v, i)),
    );
    assertDecoderTotal(
      decodeBindingEvent,
      fc.oneof(
        fc.tuple(id, heartbeatArb).map(([i, v]) => encodeBindingHeartbeat(v, i)),
        fc.tuple(id, changedArb).map(([i, v]) => encodeBindingChanged(v, i)),
        fc.tuple(id, removedArb).map(([i, v]) => encodeSimRemoved(v, i)),
      ),
    );
  });
});
