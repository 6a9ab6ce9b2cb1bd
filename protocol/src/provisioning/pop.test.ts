import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { toHex } from "../util/bytes.js";
import { byteMutation, decodesOrCodedError, mutate, range } from "./__tests__/helpers.js";
import { encodeCbor } from "./cbor.js";
import {
  base32Encode,
  decodePopVerifier,
  derivePopVerifier,
  encodePopVerifier,
  encodeProvisioningQr,
  formatPop,
  generatePop,
  POP_TEXT_LENGTH,
  PROVISIONING_TRANSPORTS,
  parsePop,
  parseProvisioningQr,
} from "./pop.js";

const POP = range(0, 16);
const POP_TEXT = "TKP1-AAAQEAYEAUDAOCAJBIFQYDIOB4";
const SALT = range(0xa0, 16);

describe("generatePop", () => {
  it("takes exactly 16 random bytes and copies them", () => {
    const random = range(0x10, 16);
    const pop = generatePop(random);
    expect(pop).toEqual(random);
    random[0] = 0;
    expect(pop[0]).toBe(0x10);
  });

  it("refuses fewer or more than 128 bits, and a constant buffer", () => {
    for (const n of [0, 8, 15, 17, 32]) expectTriadkitError(() => generatePop(range(1, n)), "prov.bad_pop");
    expectTriadkitError(() => generatePop(new Uint8Array(16)), "prov.bad_pop");
    expectTriadkitError(() => generatePop(new Uint8Array(16).fill(0xff)), "prov.bad_pop");
  });
});

describe("PoP text form", () => {
  it("is TKP1- plus 26 upper-case base32 digits (RFC 4648 vectors for the alphabet)", () => {
    expect(base32Encode(new TextEncoder().encode("foobar"))).toBe("MZXW6YTBOI");
    expect(base32Encode(new TextEncoder().encode("f"))).toBe("MY");
    expect(formatPop(POP)).toBe(POP_TEXT);
    expect(POP_TEXT.length).toBe(POP_TEXT_LENGTH);
    expect(formatPop(new Uint8Array(16).fill(0xff))).toBe("TKP1-77777777777777777777777774");
  });

  it("parses case-insensitively and ignores spaces and dashes", () => {
    for (const text of [
      POP_TEXT,
      POP_TEXT.toLowerCase(),
      "TKP1AAAQEAYEAUDAOCAJBIFQYDIOB4",
      " tkp1 - AAAQE AYEAU DAOCA JBIFQ YDIOB 4 ",
      "TKP1-AAAQ-EAYE-AUDA-OCAJ-BIFQ-YDIO-B4",
    ]) {
      expect(parsePop(text)).toEqual(POP);
    }
  });

  it("refuses a wrong prefix, length, alphabet or non-zero padding bits, without echoing the input", () => {
    const bad = [
      "",
      "TKP2-AAAQEAYEAUDAOCAJBIFQYDIOB4",
      "AAAQEAYEAUDAOCAJBIFQYDIOB4",
      "TKP1-AAAQEAYEAUDAOCAJBIFQYDIOB",
      "TKP1-AAAQEAYEAUDAOCAJBIFQYDIOB4A",
      "TKP1-AAAQEAYEAUDAOCAJBIFQYDIOB1",
      "TKP1-AAAQEAYEAUDAOCAJBIFQYDIOB0",
      "TKP1-AAAQEAYEAUDAOCAJBIFQYDIOB5", // 5 = 11101: last two bits non-zero
      "TKP1-AAAQEAYEAUDAOCAJBIFQYDIOB=",
      "x".repeat(500),
    ];
    for (const text of bad) {
      const err = expectTriadkitError(() => parsePop(text), "prov.bad_pop");
      if (text.length > 8) expect(JSON.stringify(err) + err.message).not.toContain(text.slice(5, 20));
    }
  });

  it("round-trips every PoP (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatPop(bytes);
        expect(text).toMatch(/^TKP1-[A-Z2-7]{25}[AEIMQUY4]$/);
        expect(parsePop(text)).toEqual(bytes);
        expect(parsePop(text.toLowerCase().replace(/(.{4})/g, "$1 "))).toEqual(bytes);
      }),
    );
  });

  it("parsePop decodes or throws prov.bad_pop on any string (property)", () => {
    const nearPop = fc
      .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(40), fc.string({ maxLength: 3 }))
      .map(([b, at, s]) => {
        const t = formatPop(b);
        return t.slice(0, at) + s + t.slice(at + 1);
      });
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), nearPop), (text) => {
        const out = decodesOrCodedError(() => parsePop(text));
        if (out instanceof TriadkitError) expect(out.code).toBe("prov.bad_pop");
        else expect(out.length).toBe(16);
      }),
    );
  });
});

describe("provisioning QR URI", () => {
  const qr = { productKey: "a1B2c3D4e5F", deviceName: "lamp-0001", pop: POP, transports: ["ble", "softap"] as const };
  const URI = `triadkit://prov?v=1&pk=a1B2c3D4e5F&dn=lamp-0001&pop=${POP_TEXT}&t=ble,softap`;

  it("encodes the documented URI and parses it back", () => {
    expect(encodeProvisioningQr(qr)).toBe(URI);
    expect(parseProvisioningQr(URI)).toEqual({ ...qr, transports: ["ble", "softap"] });
    expect(
      parseProvisioningQr(encodeProvisioningQr({ ...qr, deviceName: "dev@x.y:1_2", transports: ["improv"] })),
    ).toMatchObject({ deviceName: "dev@x.y:1_2", transports: ["improv"] });
  });

  it("accepts any parameter order, percent-encoding, an upper-case scheme and unknown parameters", () => {
    const text = `TRIADKIT://PROV?t=softap&future=x&pop=${POP_TEXT.toLowerCase()}&dn=lamp%2D0001&pk=a1B2c3D4e5F&v=1`;
    expect(parseProvisioningQr(text)).toEqual({ ...qr, transports: ["softap"] });
  });

  it("refuses malformed URIs with the right codes", () => {
    const cases: [string, string][] = [
      ["https://prov?v=1", "prov.bad_message"],
      [URI.replace("&t=ble,softap", ""), "prov.bad_message"],
      [`${URI}&pk=other`, "prov.bad_message"],
      [URI.replace("t=ble,softap", "t=ble,ble"), "prov.bad_message"],
      [URI.replace("t=ble,softap", "t=wifi"), "prov.bad_message"],
      [URI.replace("t=ble,softap", "t="), "prov.bad_message"],
      [URI.replace("dn=lamp-0001", "dn=%E0%A4%A"), "prov.bad_message"],
      [URI.replace("v=1", "v=2"), "prov.version_unsupported"],
      [URI.replace("pk=a1B2c3D4e5F", "pk=a/b"), "triad.bad_product_key"],
      [URI.replace("dn=lamp-0001", "dn=ab"), "triad.bad_device_name"],
      [URI.replace(POP_TEXT, "TKP1-SHORT"), "prov.bad_pop"],
    ];
    for (const [uri, code] of cases) expectTriadkitError(() => parseProvisioningQr(uri), code as "prov.bad_message");
    expectTriadkitError(() => encodeProvisioningQr({ ...qr, transports: [] }), "prov.bad_message");
    expectTriadkitError(() => encodeProvisioningQr({ ...qr, pop: range(0, 15) }), "prov.bad_pop");
  });

  it("round-trips (property) and parses any string to a value or a coded error (property)", () => {
    const arbQr = fc.record({
      productKey: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      deviceName: fc.stringMatching(/^[A-Za-z0-9_@.:-]{4,32}$/),
      pop: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      transports: fc.uniqueArray(fc.constantFrom(...PROVISIONING_TRANSPORTS), { minLength: 1 }),
    });
    fc.assert(
      fc.property(arbQr, (value) => {
        expect(parseProvisioningQr(encodeProvisioningQr(value))).toEqual(value);
      }),
    );
    const mutated = fc.tuple(arbQr, fc.nat(), fc.string({ maxLength: 4, unit: "binary" })).map(([v, at, s]) => {
      const u = encodeProvisioningQr(v);
      const i = at % u.length;
      return u.slice(0, i) + s + u.slice(i + 1);
    });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string({ unit: "binary" })), (uri) => {
        decodesOrCodedError(() => parseProvisioningQr(uri), ["prov.", "triad."]);
      }),
    );
  });
});

describe("PoP verifier", () => {
  it("is HKDF-SHA256(PoP, salt, 'triadkit/pop/v1') and never contains the PoP (worked vector)", () => {
    const verifier = derivePopVerifier(POP, SALT);
    expect(verifier.v).toBe(1);
    expect(toHex(verifier.key)).toBe("6c456526f6a0eaac5082a6f4148c2cdddde48da70453cedfcd387c1b5dd2b98e");
    const bytes = encodePopVerifier(verifier);
    expect(toHex(bytes)).toBe(
      "a36176016473616c7450a0a1a2a3a4a5a6a7a8a9aaabacadaeaf636b657958206c456526f6a0eaac5082a6f4148c2cdddde48da70453cedfcd387c1b5dd2b98e",
    );
    expect(bytes.length).toBe(64);
    expect(toHex(bytes)).not.toContain(toHex(POP));
    expect(decodePopVerifier(bytes)).toEqual(verifier);
  });

  it("refuses a bad salt, version or field", () => {
    expectTriadkitError(() => derivePopVerifier(POP, range(0, 8)), "prov.bad_message");
    expectTriadkitError(() => derivePopVerifier(range(0, 12), SALT), "prov.bad_pop");
    expectTriadkitError(
      () => decodePopVerifier(encodeCbor({ v: 2, salt: SALT, key: new Uint8Array(32) })),
      "prov.version_unsupported",
    );
    expectTriadkitError(
      () => decodePopVerifier(encodeCbor({ v: 1, salt: SALT, key: new Uint8Array(31) })),
      "prov.bad_message",
    );
    expectTriadkitError(() => decodePopVerifier(encodeCbor([1, 2])), "prov.bad_message");
    expectTriadkitError(() => decodePopVerifier(new Uint8Array(0)), "prov.bad_message");
  });

  it("decodes or throws a prov.* error on mutated and random input (property)", () => {
    const valid = fc
      .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }))
      .map(([p, s]) => encodePopVerifier(derivePopVerifier(p, s)));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(valid, byteMutation).map(([b, m]) => mutate(b, m)),
          fc.uint8Array(),
        ),
        (bytes) => {
          const out = decodesOrCodedError(() => decodePopVerifier(bytes));
          if (!(out instanceof TriadkitError)) expect(decodePopVerifier(encodePopVerifier(out))).toEqual(out);
        },
      ),
    );
  });
});
