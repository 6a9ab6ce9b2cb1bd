import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TriadkitError } from "../errors.js";
import { formatPop } from "../provisioning/pop.js";
import { expectTriadkitError } from "../testing.js";
import {
  type CartonLabelPayload,
  type DeviceLabelPayload,
  encodeLabelPayload,
  type LabelPayload,
  labelTextLines,
  parseLabelPayload,
} from "./label-payload.js";

const POP = Uint8Array.from({ length: 16 }, (_, i) => i);
const POP_TEXT = "TKP1-AAAQEAYEAUDAOCAJBIFQYDIOB4";
const ALIBABA = { family: "alibaba", productKey: "a1B2c3D4e5F", deviceName: "lamp-0001" } as const;
const GENIE = { family: "genie", productId: 4455667, mac: "0c0000000001" } as const;

describe("encodeLabelPayload", () => {
  it("writes the device label of an Alibaba device with its PoP and shelf code, in a fixed order", () => {
    const text = encodeLabelPayload({ kind: "device", identity: ALIBABA, pop: POP, shelfCode: "8F6A77C73E" });
    expect(text).toBe(`triadkit://label?v=1&k=d&pk=a1B2c3D4e5F&dn=lamp-0001&pop=${POP_TEXT}&sc=8F6A77C73E`);
  });

  it("writes a Genie device by product id and MAC, and a carton label without the PoP", () => {
    expect(encodeLabelPayload({ kind: "device", identity: GENIE, pop: POP })).toBe(
      `triadkit://label?v=1&k=d&pid=4455667&mac=0c0000000001&pop=${POP_TEXT}`,
    );
    const carton = encodeLabelPayload({ kind: "carton", identity: GENIE, shelfCode: "A&B#1" });
    expect(carton).toBe("triadkit://label?v=1&k=c&pid=4455667&mac=0c0000000001&sc=A%26B%231");
    expect(carton).not.toContain("pop");
    expect(parseLabelPayload(carton)).toEqual({ kind: "carton", identity: GENIE, shelfCode: "A&B#1" });
  });

  it("refuses a carton given a PoP, a bad shelf code and bad identities", () => {
    const carton = { kind: "carton", identity: ALIBABA, pop: POP } as unknown as CartonLabelPayload;
    expectTriadkitError(() => encodeLabelPayload(carton), "label.bad_payload");
    expectTriadkitError(
      () => encodeLabelPayload({ kind: "carton", identity: ALIBABA, shelfCode: "has space" }),
      "label.bad_payload",
    );
    expectTriadkitError(
      () => encodeLabelPayload({ kind: "carton", identity: { ...ALIBABA, deviceName: "x" } }),
      "triad.bad_device_name",
    );
    expectTriadkitError(
      () => encodeLabelPayload({ kind: "carton", identity: { ...GENIE, mac: "0C:00:00:00:00:01" } }),
      "id.bad_mac",
    );
    expectTriadkitError(
      () => encodeLabelPayload({ kind: "device", identity: ALIBABA, pop: new Uint8Array(8) }),
      "prov.bad_pop",
    );
  });
});

describe("parseLabelPayload", () => {
  const device = `triadkit://label?v=1&k=d&pk=a1B2c3D4e5F&dn=lamp-0001&pop=${POP_TEXT}&sc=8F6A77C73E`;

  it("reads a device label back, ignoring a scanner's trailing Enter", () => {
    expect(parseLabelPayload(`${device}\r\n`)).toEqual({
      kind: "device",
      identity: ALIBABA,
      pop: POP,
      shelfCode: "8F6A77C73E",
    });
  });

  it("refuses a field that names a secret, before anything else, without echoing it", () => {
    for (const name of ["ds", "DeviceSecret", "secret", "ps", "psk", "password", "token"]) {
      const err = expectTriadkitError(() => parseLabelPayload(`${device}&${name}=hunter2hunter2`), "label.bad_payload");
      expect(err.context).toEqual({ field: "secret" });
      expect(err.message).not.toContain("hunter2");
    }
    expectTriadkitError(
      () => parseLabelPayload(`triadkit://label?v=1&k=d&pk=a1B2c3D4e5F&dn=lamp-0001&ds=abc&pop=${POP_TEXT}`),
      "label.bad_payload",
    );
  });

  it("is strict: order, unknown, repeated, missing, percent-encoding, scheme, carton PoP", () => {
    const cases = [
      `triadkit://label?k=d&v=1&pk=a1B2c3D4e5F&dn=lamp-0001&pop=${POP_TEXT}`,
      `triadkit://label?v=1&k=d&dn=lamp-0001&pk=a1B2c3D4e5F&pop=${POP_TEXT}`,
      `${device}&x=1`,
      `${device}&sc=8F6A77C73E`,
      "triadkit://label?v=1&k=d&pk=a1B2c3D4e5F&dn=lamp-0001",
      `triadkit://label?v=1&k=d&pk=a1B2c3D4e5F&dn=lamp%2D0001&pop=${POP_TEXT}`,
      `TRIADKIT://label?v=1&k=d&pk=a1B2c3D4e5F&dn=lamp-0001&pop=${POP_TEXT}`,
      `triadkit://prov?v=1&pk=a1B2c3D4e5F&dn=lamp-0001&pop=${POP_TEXT}&t=ble`,
      `triadkit://label?v=1&k=c&pk=a1B2c3D4e5F&dn=lamp-0001&pop=${POP_TEXT}`,
      "triadkit://label?v=1&k=x&pk=a1B2c3D4e5F&dn=lamp-0001",
      "triadkit://label?v=1&k=c&pk=a1B2c3D4e5F&dn=lamp-0001&sc=A#B",
      "triadkit://label?v=1&k=c&pk=a1B2c3D4e5F&dn=lamp-0001&sc=%41",
      "triadkit://label?v=1&k=c&pk=a1B2c3D4e5F&dn=lamp-0001&",
      "",
      "x".repeat(600),
    ];
    for (const text of cases) expectTriadkitError(() => parseLabelPayload(text), "label.bad_payload");
  });

  it("refuses another version and a non-canonical PoP", () => {
    expectTriadkitError(
      () => parseLabelPayload(`triadkit://label?v=2&k=d&pk=a1B2c3D4e5F&dn=lamp-0001&pop=${POP_TEXT}`),
      "label.version_unsupported",
    );
    expectTriadkitError(
      () => parseLabelPayload(`triadkit://label?v=1&k=d&pk=a1B2c3D4e5F&dn=lamp-0001&pop=${POP_TEXT.toLowerCase()}`),
      "prov.bad_pop",
    );
  });

  const identityArb: fc.Arbitrary<LabelPayload["identity"]> = fc.oneof(
    fc.record({
      family: fc.constant("alibaba" as const),
      productKey: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      deviceName: fc.stringMatching(/^[A-Za-z0-9_@.:-]{4,32}$/),
    }),
    fc.record({
      family: fc.constant("genie" as const),
      productId: fc.integer({ min: 0, max: 0xffff_ffff }),
      mac: fc.stringMatching(/^[0-9a-f]{12}$/),
    }),
  );
  const payloadArb: fc.Arbitrary<LabelPayload> = fc
    .tuple(
      identityArb,
      fc.boolean(),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.option(fc.stringMatching(/^[\x21-\x7e]{1,64}$/), { nil: undefined }),
    )
    .map(([identity, isDevice, pop, shelfCode]): LabelPayload => {
      const code = shelfCode === undefined ? {} : { shelfCode };
      return isDevice
        ? ({ kind: "device", identity, pop, ...code } satisfies DeviceLabelPayload)
        : ({ kind: "carton", identity, ...code } satisfies CartonLabelPayload);
    });

  it("round-trips every payload, and a carton payload never holds the PoP (property)", () => {
    fc.assert(
      fc.property(payloadArb, (payload) => {
        const text = encodeLabelPayload(payload);
        expect(text.length).toBeLessThan(512);
        expect(parseLabelPayload(text)).toEqual(payload);
        if (payload.kind === "carton") expect(text).not.toMatch(/pop=|TKP1/);
      }),
    );
  });

  it("never crashes on mutated payloads: parses or throws a coded error (property)", () => {
    fc.assert(
      fc.property(payloadArb, fc.nat(), fc.string({ maxLength: 4 }), (payload, at, insert) => {
        const text = encodeLabelPayload(payload);
        const i = at % (text.length + 1);
        const mutated = text.slice(0, i) + insert + text.slice(i + 1);
        try {
          parseLabelPayload(mutated);
        } catch (err) {
          expect(err).toBeInstanceOf(TriadkitError);
        }
      }),
    );
  });
});

describe("labelTextLines", () => {
  it("gives identity, PoP (device only) and the shelf code as ASCII lines", () => {
    expect(labelTextLines({ kind: "device", identity: ALIBABA, pop: POP, shelfCode: "8F6A77C73E" })).toEqual([
      "PK a1B2c3D4e5F",
      "DN lamp-0001",
      `PoP ${formatPop(POP)}`,
      "CODE 8F6A77C73E",
    ]);
    expect(labelTextLines({ kind: "carton", identity: GENIE })).toEqual(["PID 4455667", "MAC 0C:00:00:00:00:01"]);
  });
});
