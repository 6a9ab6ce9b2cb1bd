import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { formatMac, normalizeMac, parseBleRandomStaticAddress, parseMac } from "./mac.js";

function neverCrashes(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!isTriadkitError(err)) throw err;
  }
}

const codes = (ws: readonly { code: string }[]) => ws.map((w) => w.code);

describe("normalizeMac / formatMac", () => {
  it("accepts ':' '-' or no separator, either case", () => {
    for (const input of [
      "a4:c1:38:0e:5f:22",
      "A4:C1:38:0E:5F:22",
      "a4-c1-38-0e-5f-22",
      "A4C1380E5F22",
      "a4c1380e5f22",
      "  A4:c1:38:0E:5f:22\n",
    ]) {
      expect(normalizeMac(input)).toBe("a4c1380e5f22");
    }
  });

  it("rejects malformed addresses with id.bad_mac and a format hint", () => {
    for (const input of [
      "",
      "a4:c1:38:0e:5f",
      "a4:c1:38:0e:5f:22:11",
      "a4c1380e5f2",
      "a4c1380e5f223",
      "a4:c1-38:0e:5f:22",
      "a4:c1:38:0e:5f:2g",
      "a4 c1 38 0e 5f 22",
      "a4.c1.38.0e.5f.22",
      "a4c1.380e.5f22",
      "4:c1:38:0e:5f:22",
      "a4::c1:38:0e:5f:22",
      ":a4:c1:38:0e:5f:22",
    ]) {
      const err = expectTriadkitError(() => normalizeMac(input), "id.bad_mac");
      expect(err.message).toContain("12 hex digits");
    }
    expectTriadkitError(() => normalizeMac(undefined as unknown as string), "id.bad_mac");
  });

  it("formats with the requested separator and case", () => {
    expect(formatMac("a4c1380e5f22")).toBe("a4:c1:38:0e:5f:22");
    expect(formatMac("a4c1380e5f22", "-")).toBe("a4-c1-38-0e-5f-22");
    expect(formatMac("A4-C1-38-0E-5F-22", "")).toBe("a4c1380e5f22");
    expect(formatMac("a4c1380e5f22", ":", true)).toBe("A4:C1:38:0E:5F:22");
    expectTriadkitError(() => formatMac("nope"), "id.bad_mac");
  });
});

describe("parseMac", () => {
  it("returns 12 lowercase hex for a universal unicast address", () => {
    expect(parseMac("A4:C1:38:0E:5F:22")).toEqual({ value: "a4c1380e5f22", warnings: [] });
    expect(parseMac("00-1A-2B-3C-4D-5E", { kind: "ethernet" }).value).toBe("001a2b3c4d5e");
    expect(parseMac("001a2b3c4d5e", { kind: "ble_public" }).value).toBe("001a2b3c4d5e");
  });

  it("rejects multicast addresses for wifi (default) and ethernet", () => {
    const err = expectTriadkitError(() => parseMac("01:00:5e:00:00:fb"), "id.mac_multicast");
    expect(err.message).toContain("bit 0 of the first octet");
    expectTriadkitError(() => parseMac("33:33:00:00:00:01", { kind: "ethernet" }), "id.mac_multicast");
    expectTriadkitError(() => parseMac("a5c1380e5f22", { kind: "wifi" }), "id.mac_multicast");
  });

  it("does not apply the multicast bit to BLE public addresses", () => {
    expect(parseMac("a5c1380e5f22", { kind: "ble_public" })).toEqual({ value: "a5c1380e5f22", warnings: [] });
  });

  it("rejects all-zero and broadcast addresses for every kind", () => {
    for (const kind of ["wifi", "ethernet", "ble_public"] as const) {
      expectTriadkitError(() => parseMac("00:00:00:00:00:00", { kind }), "id.mac_all_zero");
      expectTriadkitError(() => parseMac("000000000000", { kind }), "id.mac_all_zero");
      expectTriadkitError(() => parseMac("FF:FF:FF:FF:FF:FF", { kind }), "id.mac_broadcast");
      expectTriadkitError(() => parseMac("ff-ff-ff-ff-ff-ff", { kind }), "id.mac_broadcast");
    }
  });

  it("warns about locally administered addresses; strict rejects them", () => {
    const r = parseMac("02:00:00:12:34:56");
    expect(r.value).toBe("020000123456");
    expect(codes(r.warnings)).toEqual(["id.mac_locally_administered"]);
    expect(codes(parseMac("a6c1380e5f22", { kind: "ble_public" }).warnings)).toEqual(["id.mac_locally_administered"]);
    expectTriadkitError(() => parseMac("02:00:00:12:34:56", { strict: true }), "id.bad_mac");
    expect(parseMac("a4:c1:38:0e:5f:22", { strict: true }).value).toBe("a4c1380e5f22");
  });

  it("malformed input is id.bad_mac before any semantic check", () => {
    expectTriadkitError(() => parseMac("ff:ff:ff:ff:ff"), "id.bad_mac");
    expectTriadkitError(() => parseMac("01:00:5e:00:00:fb:00"), "id.bad_mac");
  });
});

describe("parseBleRandomStaticAddress", () => {
  it("accepts addresses whose two top bits are 11", () => {
    expect(parseBleRandomStaticAddress("C0:11:22:33:44:55")).toEqual({ value: "c01122334455", warnings: [] });
    expect(parseBleRandomStaticAddress("f3-de-ad-be-ef-01").value).toBe("f3deadbeef01");
    // the IEEE multicast / local bits are irrelevant here
    expect(parseBleRandomStaticAddress("c3:00:00:00:00:01").value).toBe("c30000000001");
    expect(parseBleRandomStaticAddress("ff:ff:ff:ff:ff:fe").value).toBe("fffffffffffe");
    expect(parseBleRandomStaticAddress("c0:00:00:00:00:01").value).toBe("c00000000001");
    expect(parseBleRandomStaticAddress("c1:00:00:00:00:00").value).toBe("c10000000000");
  });

  it("rejects other address sub-types and names them", () => {
    const cases: [string, string][] = [
      ["00:11:22:33:44:55", "non-resolvable private"],
      ["3f:11:22:33:44:55", "non-resolvable private"],
      ["40:11:22:33:44:55", "resolvable private"],
      ["7f:11:22:33:44:55", "resolvable private"],
      ["80:11:22:33:44:55", "reserved"],
      ["bf:11:22:33:44:55", "reserved"],
    ];
    for (const [input, kind] of cases) {
      const err = expectTriadkitError(() => parseBleRandomStaticAddress(input), "id.bad_ble_random_static");
      expect(err.message).toContain(kind);
    }
  });

  it("rejects an all-zero or all-one random part", () => {
    expect(
      expectTriadkitError(() => parseBleRandomStaticAddress("c0:00:00:00:00:00"), "id.bad_ble_random_static").message,
    ).toContain("all 0");
    expect(
      expectTriadkitError(() => parseBleRandomStaticAddress("ff:ff:ff:ff:ff:ff"), "id.bad_ble_random_static").message,
    ).toContain("all 1");
  });

  it("rejects malformed input with id.bad_mac", () => {
    expectTriadkitError(() => parseBleRandomStaticAddress("c0:11:22:33:44"), "id.bad_mac");
    expectTriadkitError(() => parseBleRandomStaticAddress(""), "id.bad_mac");
  });
});

describe("MAC properties", () => {
  const mac12 = fc.oneof(
    fc.stringMatching(/^[0-9a-f]{12}$/),
    fc.constantFrom("000000000000", "ffffffffffff", "c00000000000", "fffffffffffe", "010000000000", "020000000000"),
  );
  const sep = fc.constantFrom(":" as const, "-" as const, "" as const);

  it("normalize(format(mac)) round-trips for every separator and case", () => {
    fc.assert(
      fc.property(mac12, sep, fc.boolean(), (mac, s, upper) => {
        const text = formatMac(mac, s, upper);
        expect(normalizeMac(text)).toBe(mac);
        expect(formatMac(text, s, upper)).toBe(text);
        expect(text).toHaveLength(s === "" ? 12 : 17);
      }),
    );
  });

  it("parseMac outcome follows the first-octet bits exactly", () => {
    fc.assert(
      fc.property(mac12, fc.constantFrom("wifi" as const, "ethernet" as const, "ble_public" as const), (mac, kind) => {
        const o0 = Number.parseInt(mac.slice(0, 2), 16);
        let outcome: string;
        try {
          const r = parseMac(formatMac(mac, ":", true), { kind });
          expect(r.value).toBe(mac);
          outcome = codes(r.warnings).join(",") || "ok";
        } catch (err) {
          if (!isTriadkitError(err)) throw err;
          outcome = err.code;
        }
        const expected =
          mac === "000000000000"
            ? "id.mac_all_zero"
            : mac === "ffffffffffff"
              ? "id.mac_broadcast"
              : kind !== "ble_public" && (o0 & 1) === 1
                ? "id.mac_multicast"
                : (o0 & 2) === 2
                  ? "id.mac_locally_administered"
                  : "ok";
        expect(outcome).toBe(expected);
      }),
    );
  });

  it("BLE random static acceptance follows the top bits", () => {
    fc.assert(
      fc.property(mac12, (mac) => {
        const top = Number.parseInt(mac.slice(0, 2), 16) >> 6;
        let ok: boolean;
        try {
          ok = parseBleRandomStaticAddress(mac).value === mac;
        } catch (err) {
          expect(isTriadkitError(err, "id.bad_ble_random_static")).toBe(true);
          ok = false;
        }
        expect(ok).toBe(top === 3 && !(mac === "c00000000000" || mac === "ffffffffffff"));
      }),
    );
  });

  it("random strings and mutated addresses never crash", () => {
    const mutated = fc
      .tuple(
        fc.constantFrom("a4:c1:38:0e:5f:22", "C0-11-22-33-44-55", "a4c1380e5f22"),
        fc.nat(),
        fc.string({ maxLength: 3 }),
        fc.nat(2),
      )
      .map(([s, pos, ins, del]) => {
        const i = pos % (s.length + 1);
        return s.slice(0, i) + ins + s.slice(i + del);
      });
    fc.assert(
      fc.property(fc.oneof(fc.string(), mutated), (s) => {
        neverCrashes(() => parseMac(s));
        neverCrashes(() => parseMac(s, { kind: "ble_public", strict: true }));
        neverCrashes(() => parseBleRandomStaticAddress(s));
        neverCrashes(() => formatMac(s, "-", true));
      }),
    );
  });
});
