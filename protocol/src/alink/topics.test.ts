import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import {
  type AlinkTopic,
  buildTopic,
  configGetReplyTopic,
  configGetTopic,
  configPushReplyTopic,
  configPushTopic,
  deviceinfoDeleteReplyTopic,
  deviceinfoDeleteTopic,
  deviceinfoUpdateReplyTopic,
  deviceinfoUpdateTopic,
  deviceSubscriptionFilters,
  eventPostReplyFilter,
  eventPostReplyTopic,
  eventPostTopic,
  extErrorTopic,
  isReplyKind,
  isValidTopicSegment,
  ntpRequestTopic,
  ntpResponseTopic,
  otaFirmwareGetReplyTopic,
  otaFirmwareGetTopic,
  otaInformTopic,
  otaProgressTopic,
  otaUpgradeTopic,
  parseTopic,
  propertyGetReplyTopic,
  propertyGetTopic,
  propertyPostReplyTopic,
  propertyPostTopic,
  propertySetReplyTopic,
  propertySetTopic,
  registrationResultTopic,
  replyOf,
  replyTopicOf,
  rrpcRequestFilter,
  rrpcRequestTopic,
  rrpcResponseTopic,
  serviceReplyTopic,
  serviceRequestFilter,
  serviceTopic,
  thingDeleteReplyTopic,
  thingDeleteTopic,
  thingDisableReplyTopic,
  thingDisableTopic,
  thingEnableReplyTopic,
  thingEnableTopic,
  topicMatchesFilter,
  tryParseTopic,
} from "./topics.js";

const dev = { productKey: "a1B2c3D4e5F", deviceName: "dev001" };
const pk = dev.productKey;
const dn = dev.deviceName;

describe("topic builders", () => {
  it("build every fixed topic exactly", () => {
    const table: [(d: typeof dev) => string, string][] = [
      [propertyPostTopic, `/sys/${pk}/${dn}/thing/event/property/post`],
      [propertyPostReplyTopic, `/sys/${pk}/${dn}/thing/event/property/post_reply`],
      [propertySetTopic, `/sys/${pk}/${dn}/thing/service/property/set`],
      [propertySetReplyTopic, `/sys/${pk}/${dn}/thing/service/property/set_reply`],
      [propertyGetTopic, `/sys/${pk}/${dn}/thing/service/property/get`],
      [propertyGetReplyTopic, `/sys/${pk}/${dn}/thing/service/property/get_reply`],
      [deviceinfoUpdateTopic, `/sys/${pk}/${dn}/thing/deviceinfo/update`],
      [deviceinfoUpdateReplyTopic, `/sys/${pk}/${dn}/thing/deviceinfo/update_reply`],
      [deviceinfoDeleteTopic, `/sys/${pk}/${dn}/thing/deviceinfo/delete`],
      [deviceinfoDeleteReplyTopic, `/sys/${pk}/${dn}/thing/deviceinfo/delete_reply`],
      [configGetTopic, `/sys/${pk}/${dn}/thing/config/get`],
      [configGetReplyTopic, `/sys/${pk}/${dn}/thing/config/get_reply`],
      [configPushTopic, `/sys/${pk}/${dn}/thing/config/push`],
      [configPushReplyTopic, `/sys/${pk}/${dn}/thing/config/push_reply`],
      [otaFirmwareGetTopic, `/sys/${pk}/${dn}/thing/ota/firmware/get`],
      [otaFirmwareGetReplyTopic, `/sys/${pk}/${dn}/thing/ota/firmware/get_reply`],
      [thingDisableTopic, `/sys/${pk}/${dn}/thing/disable`],
      [thingDisableReplyTopic, `/sys/${pk}/${dn}/thing/disable_reply`],
      [thingEnableTopic, `/sys/${pk}/${dn}/thing/enable`],
      [thingEnableReplyTopic, `/sys/${pk}/${dn}/thing/enable_reply`],
      [thingDeleteTopic, `/sys/${pk}/${dn}/thing/delete`],
      [thingDeleteReplyTopic, `/sys/${pk}/${dn}/thing/delete_reply`],
      [ntpRequestTopic, `/ext/ntp/${pk}/${dn}/request`],
      [ntpResponseTopic, `/ext/ntp/${pk}/${dn}/response`],
      [extErrorTopic, `/ext/error/${pk}/${dn}`],
      [otaInformTopic, `/ota/device/inform/${pk}/${dn}`],
      [otaUpgradeTopic, `/ota/device/upgrade/${pk}/${dn}`],
      [otaProgressTopic, `/ota/device/progress/${pk}/${dn}`],
    ];
    for (const [build, expected] of table) expect(build(dev)).toBe(expected);
  });

  it("build identifier, RRPC and registration topics", () => {
    expect(eventPostTopic(dev, "BindingHeartbeat")).toBe(`/sys/${pk}/${dn}/thing/event/BindingHeartbeat/post`);
    expect(eventPostReplyTopic(dev, "lowpower")).toBe(`/sys/${pk}/${dn}/thing/event/lowpower/post_reply`);
    expect(eventPostTopic(dev, "location0:Alarm")).toBe(`/sys/${pk}/${dn}/thing/event/location0:Alarm/post`);
    expect(serviceTopic(dev, "wakeup")).toBe(`/sys/${pk}/${dn}/thing/service/wakeup`);
    expect(serviceReplyTopic(dev, "wakeup")).toBe(`/sys/${pk}/${dn}/thing/service/wakeup_reply`);
    expect(rrpcRequestTopic(dev, "1234567890")).toBe(`/sys/${pk}/${dn}/rrpc/request/1234567890`);
    expect(rrpcResponseTopic(dev, "1234567890")).toBe(`/sys/${pk}/${dn}/rrpc/response/1234567890`);
    expect(registrationResultTopic("register")).toBe("/ext/register");
    expect(registrationResultTopic("regnwl")).toBe("/ext/regnwl");
  });

  it("refuse segments with '/', '+', '#', NUL or nothing", () => {
    for (const productKey of ["", "a/b", "a+", "#", "a\u0000b"]) {
      const err = expectTriadkitError(() => propertyPostTopic({ productKey, deviceName: dn }), "alink.bad_topic");
      expect(err.context).toEqual({ field: "productKey" });
    }
    for (const deviceName of ["", "x/y", "+", "dev#1"]) {
      expectTriadkitError(() => ntpRequestTopic({ productKey: pk, deviceName }), "alink.bad_topic");
    }
    expectTriadkitError(() => rrpcResponseTopic(dev, "1/2"), "alink.bad_topic");
    expectTriadkitError(() => rrpcResponseTopic(dev, ""), "alink.bad_topic");
    expectTriadkitError(() => propertyPostTopic({ productKey: 5, deviceName: dn } as never), "alink.bad_topic");
  });

  it("refuse identifiers that are not TSL identifiers or would be ambiguous", () => {
    for (const id of ["", "a b", "a/b", "a+b", "x".repeat(51), "property", "中文"]) {
      expectTriadkitError(() => eventPostTopic(dev, id), "alink.bad_topic");
    }
    expectTriadkitError(() => serviceTopic(dev, "property"), "alink.bad_topic");
    // `foo_reply` as a service would parse back as the reply of `foo`.
    expectTriadkitError(() => serviceTopic(dev, "foo_reply"), "alink.bad_topic");
    expectTriadkitError(() => serviceReplyTopic(dev, "foo_reply"), "alink.bad_topic");
    // …but an event may end in _reply: its topic has a /post or /post_reply level after it.
    expect(eventPostTopic(dev, "foo_reply")).toBe(`/sys/${pk}/${dn}/thing/event/foo_reply/post`);
    expectTriadkitError(() => registrationResultTopic("other" as never), "alink.bad_topic");
  });

  it("isValidTopicSegment", () => {
    expect(isValidTopicSegment("dev001")).toBe(true);
    expect(isValidTopicSegment("a.b:c@d-e_f")).toBe(true);
    expect(isValidTopicSegment("")).toBe(false);
    expect(isValidTopicSegment("a+")).toBe(false);
  });
});

describe("parseTopic", () => {
  it("parses every family into its kind and fields", () => {
    expect(parseTopic(`/sys/${pk}/${dn}/thing/event/property/post`)).toEqual({ kind: "property.post", ...dev });
    expect(parseTopic(`/sys/${pk}/${dn}/thing/service/property/set_reply`)).toEqual({
      kind: "property.set_reply",
      ...dev,
    });
    expect(parseTopic(`/sys/${pk}/${dn}/thing/event/BindingChanged/post_reply`)).toEqual({
      kind: "event.post_reply",
      ...dev,
      identifier: "BindingChanged",
    });
    expect(parseTopic(`/sys/${pk}/${dn}/thing/service/wakeup`)).toEqual({
      kind: "service.request",
      ...dev,
      identifier: "wakeup",
    });
    expect(parseTopic(`/sys/${pk}/${dn}/thing/service/wakeup_reply`)).toEqual({
      kind: "service.reply",
      ...dev,
      identifier: "wakeup",
    });
    expect(parseTopic(`/sys/${pk}/${dn}/rrpc/request/9876543210`)).toEqual({
      kind: "rrpc.request",
      ...dev,
      messageId: "9876543210",
    });
    expect(parseTopic(`/sys/${pk}/${dn}/thing/disable`)).toEqual({ kind: "thing.disable", ...dev });
    expect(parseTopic(`/sys/${pk}/${dn}/thing/ota/firmware/get_reply`)).toEqual({
      kind: "ota.firmware_get_reply",
      ...dev,
    });
    expect(parseTopic(`/ext/ntp/${pk}/${dn}/response`)).toEqual({ kind: "ntp.response", ...dev });
    expect(parseTopic(`/ext/error/${pk}/${dn}`)).toEqual({ kind: "error", ...dev });
    expect(parseTopic(`/ota/device/upgrade/${pk}/${dn}`)).toEqual({ kind: "ota.upgrade", ...dev });
    expect(parseTopic("/ext/register")).toEqual({ kind: "register" });
    expect(parseTopic("/ext/regnwl")).toEqual({ kind: "regnwl" });
  });

  it("accepts device names with every character the platform allows", () => {
    expect(parseTopic("/sys/a1B2c3D4e5F/dev_01-a@b.c:d/thing/config/push")).toEqual({
      kind: "config.push",
      productKey: "a1B2c3D4e5F",
      deviceName: "dev_01-a@b.c:d",
    });
  });

  it("refuses non-Alink topics, filters and malformed paths with alink.bad_topic", () => {
    const bad = [
      "",
      "/",
      "sys/a/b/thing/event/property/post",
      `/sys/${pk}/${dn}/thing/event/property/post/`,
      `/sys/${pk}//thing/event/property/post`,
      `/sys/${pk}/${dn}/thing/service/+`,
      `/sys/${pk}/${dn}/thing/event/#`,
      `/sys/${pk}/${dn}/thing/event/property`,
      `/sys/${pk}/${dn}/thing/event/x/get`,
      `/sys/${pk}/${dn}/thing/event/a b/post`,
      `/sys/${pk}/${dn}/thing/service/property`,
      `/sys/${pk}/${dn}/thing/service/_reply`,
      `/sys/${pk}/${dn}/thing/service/a/b`,
      `/sys/${pk}/${dn}/thing/unknown`,
      `/sys/${pk}/${dn}/rrpc/request`,
      `/sys/${pk}/${dn}/rrpc/request/1/2`,
      `/sys/${pk}/${dn}`,
      `/ext/ntp/${pk}/${dn}/other`,
      `/ext/ntp/${pk}/${dn}/request/x`,
      `/ext/error/${pk}`,
      `/ext/error/${pk}/${dn}/x`,
      "/ext/register/x",
      `/ota/device/other/${pk}/${dn}`,
      `/ota/device/inform/${pk}`,
      `/ota/device/inform/${pk}/${dn}/x`,
      `/shadow/update/${pk}/${dn}`,
      `/${pk}/${dn}/user/get`,
    ];
    for (const topic of bad) {
      expectTriadkitError(() => parseTopic(topic), "alink.bad_topic");
      expect(tryParseTopic(topic)).toBeUndefined();
    }
    expectTriadkitError(() => parseTopic(42 as never), "alink.bad_topic");
    expectTriadkitError(() => parseTopic(`/sys/${pk}/${"d".repeat(70_000)}/thing/delete`), "alink.bad_topic");
  });
});

describe("replies", () => {
  it("replyTopicOf maps each request to its reply", () => {
    const cases: [string, string][] = [
      [propertyPostTopic(dev), propertyPostReplyTopic(dev)],
      [propertySetTopic(dev), propertySetReplyTopic(dev)],
      [propertyGetTopic(dev), propertyGetReplyTopic(dev)],
      [eventPostTopic(dev, "SimRemoved"), `/sys/${pk}/${dn}/thing/event/SimRemoved/post_reply`],
      [serviceTopic(dev, "reboot"), `/sys/${pk}/${dn}/thing/service/reboot_reply`],
      [rrpcRequestTopic(dev, "42"), `/sys/${pk}/${dn}/rrpc/response/42`],
      [deviceinfoUpdateTopic(dev), deviceinfoUpdateReplyTopic(dev)],
      [deviceinfoDeleteTopic(dev), deviceinfoDeleteReplyTopic(dev)],
      [configGetTopic(dev), configGetReplyTopic(dev)],
      [configPushTopic(dev), configPushReplyTopic(dev)],
      [ntpRequestTopic(dev), ntpResponseTopic(dev)],
      [otaFirmwareGetTopic(dev), otaFirmwareGetReplyTopic(dev)],
      [thingDisableTopic(dev), thingDisableReplyTopic(dev)],
      [thingEnableTopic(dev), thingEnableReplyTopic(dev)],
      [thingDeleteTopic(dev), thingDeleteReplyTopic(dev)],
    ];
    for (const [request, reply] of cases) {
      expect(replyTopicOf(request)).toBe(reply);
      expect(isReplyKind(parseTopic(reply).kind)).toBe(true);
      expect(isReplyKind(parseTopic(request).kind)).toBe(false);
    }
  });

  it("returns undefined for topics without a reply and throws for non-Alink topics", () => {
    for (const topic of [
      propertyPostReplyTopic(dev),
      otaInformTopic(dev),
      otaUpgradeTopic(dev),
      otaProgressTopic(dev),
      extErrorTopic(dev),
      ntpResponseTopic(dev),
      "/ext/register",
    ]) {
      expect(replyTopicOf(topic)).toBeUndefined();
    }
    expect(replyOf({ kind: "regnwl" })).toBeUndefined();
    expectTriadkitError(() => replyTopicOf("/a/b/c"), "alink.bad_topic");
  });
});

describe("subscriptions", () => {
  it("lists the filters a device needs, in a stable order", () => {
    expect(deviceSubscriptionFilters(dev)).toEqual([
      `/sys/${pk}/${dn}/thing/event/+/post_reply`,
      `/sys/${pk}/${dn}/thing/service/property/set`,
      `/sys/${pk}/${dn}/thing/service/property/get`,
      `/sys/${pk}/${dn}/thing/service/+`,
      `/sys/${pk}/${dn}/rrpc/request/+`,
      `/sys/${pk}/${dn}/thing/deviceinfo/update_reply`,
      `/sys/${pk}/${dn}/thing/deviceinfo/delete_reply`,
      `/sys/${pk}/${dn}/thing/config/get_reply`,
      `/sys/${pk}/${dn}/thing/config/push`,
      `/ext/ntp/${pk}/${dn}/response`,
      `/ota/device/upgrade/${pk}/${dn}`,
      `/sys/${pk}/${dn}/thing/ota/firmware/get_reply`,
      `/sys/${pk}/${dn}/thing/disable`,
      `/sys/${pk}/${dn}/thing/enable`,
      `/sys/${pk}/${dn}/thing/delete`,
      `/ext/error/${pk}/${dn}`,
    ]);
    expect(
      deviceSubscriptionFilters(dev, { services: false, properties: false, ota: false, lifecycle: false }),
    ).toEqual([
      `/sys/${pk}/${dn}/thing/event/+/post_reply`,
      `/sys/${pk}/${dn}/thing/deviceinfo/update_reply`,
      `/sys/${pk}/${dn}/thing/deviceinfo/delete_reply`,
      `/sys/${pk}/${dn}/thing/config/get_reply`,
      `/sys/${pk}/${dn}/thing/config/push`,
      `/ext/ntp/${pk}/${dn}/response`,
      `/ext/error/${pk}/${dn}`,
    ]);
    expectTriadkitError(() => deviceSubscriptionFilters({ productKey: "+", deviceName: dn }), "alink.bad_topic");
  });

  it("the filters cover every downstream topic and no upstream request", () => {
    const filters = deviceSubscriptionFilters(dev);
    const covered = (topic: string) => filters.some((f) => topicMatchesFilter(f, topic));
    const downstream = [
      propertyPostReplyTopic(dev),
      eventPostReplyTopic(dev, "BindingHeartbeat"),
      propertySetTopic(dev),
      propertyGetTopic(dev),
      serviceTopic(dev, "reboot"),
      rrpcRequestTopic(dev, "77"),
      deviceinfoUpdateReplyTopic(dev),
      configGetReplyTopic(dev),
      configPushTopic(dev),
      ntpResponseTopic(dev),
      otaUpgradeTopic(dev),
      otaFirmwareGetReplyTopic(dev),
      thingDisableTopic(dev),
      thingDeleteTopic(dev),
      extErrorTopic(dev),
    ];
    for (const topic of downstream) expect(covered(topic), topic).toBe(true);
    const upstream = [
      propertyPostTopic(dev),
      eventPostTopic(dev, "BindingHeartbeat"),
      propertySetReplyTopic(dev),
      rrpcResponseTopic(dev, "77"),
      deviceinfoUpdateTopic(dev),
      configGetTopic(dev),
      ntpRequestTopic(dev),
      otaInformTopic(dev),
      otaProgressTopic(dev),
      thingDisableReplyTopic(dev),
    ];
    for (const topic of upstream) expect(covered(topic), topic).toBe(false);
    // The service wildcard also matches the device's own `{id}_reply`; parseTopic tells them apart.
    expect(topicMatchesFilter(serviceRequestFilter(dev), serviceReplyTopic(dev, "reboot"))).toBe(true);
    expect(parseTopic(serviceReplyTopic(dev, "reboot")).kind).toBe("service.reply");
    expect(eventPostReplyFilter(dev)).toBe(`/sys/${pk}/${dn}/thing/event/+/post_reply`);
    expect(rrpcRequestFilter(dev)).toBe(`/sys/${pk}/${dn}/rrpc/request/+`);
  });

  it("topicMatchesFilter follows MQTT 3.1.1 wildcard rules", () => {
    expect(topicMatchesFilter("a/+/c", "a/b/c")).toBe(true);
    expect(topicMatchesFilter("a/+/c", "a/b/d")).toBe(false);
    expect(topicMatchesFilter("a/+", "a/b/c")).toBe(false);
    expect(topicMatchesFilter("a/#", "a")).toBe(true);
    expect(topicMatchesFilter("a/#", "a/b/c")).toBe(true);
    expect(topicMatchesFilter("#", "/sys/x")).toBe(true);
    expect(topicMatchesFilter("a/#/c", "a/b/c")).toBe(false);
    expect(topicMatchesFilter("/a", "/a")).toBe(true);
    expect(topicMatchesFilter("+/a", "/a")).toBe(true);
    expect(topicMatchesFilter("a/b", "a/b/c")).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties

const segment = fc.stringMatching(/^[A-Za-z0-9_@.:-]{1,32}$/);
const identifier = fc
  .stringMatching(/^(?:[A-Za-z0-9_]{1,30}:)?[A-Za-z0-9_]{1,50}$/)
  .filter((s) => s !== "property" && !s.endsWith("_reply"));
const device = fc.record({ productKey: segment, deviceName: segment });

const plainKinds = [
  "property.post",
  "property.post_reply",
  "property.set",
  "property.set_reply",
  "property.get",
  "property.get_reply",
  "deviceinfo.update",
  "deviceinfo.update_reply",
  "deviceinfo.delete",
  "deviceinfo.delete_reply",
  "config.get",
  "config.get_reply",
  "config.push",
  "config.push_reply",
  "ota.firmware_get",
  "ota.firmware_get_reply",
  "thing.disable",
  "thing.disable_reply",
  "thing.enable",
  "thing.enable_reply",
  "thing.delete",
  "thing.delete_reply",
  "ntp.request",
  "ntp.response",
  "error",
  "ota.inform",
  "ota.upgrade",
  "ota.progress",
] as const;

const anyTopic: fc.Arbitrary<AlinkTopic> = fc.oneof(
  fc.tuple(fc.constantFrom(...plainKinds), device).map(([kind, d]) => ({ kind, ...d })),
  fc
    .tuple(fc.constantFrom("event.post", "event.post_reply", "service.request", "service.reply"), device, identifier)
    .map(([kind, d, id]) => ({ kind, ...d, identifier: id })),
  fc
    .tuple(fc.constantFrom("rrpc.request", "rrpc.response"), device, segment)
    .map(([kind, d, messageId]) => ({ kind, ...d, messageId })),
  fc.constantFrom({ kind: "register" as const }, { kind: "regnwl" as const }),
);

describe("properties", () => {
  it("build → parse returns the same fields, and parse → build the same string", () => {
    fc.assert(
      fc.property(anyTopic, (topic) => {
        const text = buildTopic(topic);
        const parsed = parseTopic(text);
        expect(parsed).toEqual(topic);
        expect(buildTopic(parsed)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it("replyOf produces a topic that parses back to the reply kind", () => {
    fc.assert(
      fc.property(anyTopic, (topic) => {
        const reply = replyOf(topic);
        if (reply === undefined) return;
        expect(parseTopic(buildTopic(reply))).toEqual(reply);
        expect(isReplyKind(reply.kind)).toBe(true);
      }),
    );
  });

  it("arbitrary strings parse or fail with alink.bad_topic, never anything else", () => {
    const pieces = fc.constantFrom("sys", "ext", "ota", "device", "thing", "event", "service", "property", "post");
    const pathish = fc
      .array(fc.oneof(pieces, fc.string({ maxLength: 6 }), segment), { maxLength: 9 })
      .map((p) => `/${p.join("/")}`);
    fc.assert(
      fc.property(fc.oneof(fc.string(), pathish), (topic) => {
        try {
          const parsed = parseTopic(topic);
          expect(buildTopic(parsed)).toBe(topic);
        } catch (err) {
          expect(isTriadkitError(err, "alink.bad_topic")).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("no topic of one device matches another device's subscription filters", () => {
    fc.assert(
      fc.property(anyTopic, device, (topic, other) => {
        if (!("productKey" in topic)) return;
        const text = buildTopic(topic);
        if (other.productKey === topic.productKey && other.deviceName === topic.deviceName) return;
        for (const filter of deviceSubscriptionFilters(other)) expect(topicMatchesFilter(filter, text)).toBe(false);
      }),
    );
  });
});
