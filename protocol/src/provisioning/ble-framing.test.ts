import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError, TriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import {
  BLE_MAX_MESSAGE_BYTES,
  blePayloadSize,
  decodeProvisioningInfo,
  encodeProvisioningInfo,
  fragment,
  fragmentCount,
  parseFragmentHeader,
  Reassembler,
  TRIADKIT_PROV_GATT,
} from "./ble-framing.js";

const MTUS = [23, 24, 185, 247, 517] as const;

/** A reassembler on a virtual clock. */
function harness(options: { timeoutMs?: number; maxMessageBytes?: number } = {}) {
  let now = 0;
  const r = new Reassembler({ now: () => now, ...options });
  return {
    r,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function feedAll(r: Reassembler, frags: readonly Uint8Array[]): Uint8Array | undefined {
  let early = 0;
  let out: Uint8Array | undefined;
  frags.forEach((f, i) => {
    const res = r.push(f);
    if (i < frags.length - 1 && res !== undefined) early++;
    out = res?.message;
  });
  if (early > 0) throw new Error(`${early} fragments completed a message early`);
  return out;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

const message = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

describe("fragment", () => {
  it("lays out a worked example at MTU 23 (docs/provisioning.md)", () => {
    const msg = Uint8Array.from({ length: 40 }, (_, i) => i);
    const frags = fragment(msg, 23, { seq: 5 });
    expect(frags.map((f) => f.length)).toEqual([20, 20, 5]);
    // seq 5 << 2 = 0x14; first = 0x01, last = 0x02
    expect([...(frags[0] as Uint8Array).subarray(0, 4)]).toEqual([0x15, 0x00, 0x28, 0x00]);
    expect(frags[0]?.[19]).toBe(16);
    expect([...(frags[1] as Uint8Array).subarray(0, 2)]).toEqual([0x14, 17]);
    expect([...(frags[2] as Uint8Array)]).toEqual([0x16, 36, 37, 38, 39]);
  });

  it("sends an empty message as one first+last fragment", () => {
    expect(fragment(new Uint8Array(0), 23, { seq: 63 }).map((f) => [...f])).toEqual([[0xff, 0, 0]]);
  });

  it("never exceeds MTU − 3 per write and matches fragmentCount", () => {
    fc.assert(
      fc.property(fc.constantFrom(...MTUS), fc.integer({ min: 0, max: BLE_MAX_MESSAGE_BYTES }), (mtu, n) => {
        const frags = fragment(message(n), mtu);
        expect(frags.length).toBe(fragmentCount(n, mtu));
        for (const f of frags) expect(f.length).toBeLessThanOrEqual(mtu - 3);
      }),
    );
    expect(fragmentCount(4096, 23)).toBe(216);
    expect(fragmentCount(4096, 517)).toBe(8);
  });

  it("refuses messages over 4096 bytes, bad MTUs and bad sequence numbers", () => {
    expectTriadkitError(() => fragment(new Uint8Array(4097), 247), "prov.frame_too_large");
    for (const mtu of [0, 22, 518, 23.5, Number.NaN]) {
      expectTriadkitError(() => fragment(new Uint8Array(1), mtu), "config.invalid");
    }
    expectTriadkitError(() => fragment(new Uint8Array(1), 23, { seq: 64 }), "config.invalid");
    expectTriadkitError(() => fragment(new Uint8Array(1), 23, { seq: -1 }), "config.invalid");
    expect(blePayloadSize(23)).toBe(20);
    expect(blePayloadSize(517)).toBe(514);
  });
});

describe("Reassembler", () => {
  it("round-trips random messages 0–4096 bytes at MTU 23, 24, 185, 247, 517 (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...MTUS),
        fc.uint8Array({ minLength: 0, maxLength: BLE_MAX_MESSAGE_BYTES }),
        fc.integer({ min: 0, max: 63 }),
        (mtu, msg, seq) => {
          const { r } = harness();
          const frags = fragment(msg, mtu, { seq });
          let got: { seq: number; message: Uint8Array } | undefined;
          for (const f of frags) got = r.push(f);
          expect(got?.seq).toBe(seq);
          expect(got?.message).toEqual(msg);
          expect(r.inProgress).toBe(false);
          expect(r.deadline).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });

  it("round-trips every MTU 23–517 at the fragment-boundary lengths", () => {
    const { r } = harness();
    for (let mtu = 23; mtu <= 517; mtu++) {
      const p = mtu - 3;
      for (const n of [0, 1, p - 4, p - 3, p - 2, p + p - 4, p + p - 3, BLE_MAX_MESSAGE_BYTES]) {
        const msg = message(Math.max(0, n));
        const got = feedAll(r, fragment(msg, mtu, { seq: mtu % 64 }));
        if (got === undefined || !sameBytes(got, msg)) throw new Error(`MTU ${mtu}, ${n} bytes: mismatch`);
      }
    }
    expect(r.stats.refused).toBe(0);
  });

  it("reassembles consecutive messages and keeps counts", () => {
    const { r } = harness();
    for (let i = 0; i < 70; i++) {
      const msg = message(i * 13);
      expect(feedAll(r, fragment(msg, 24, { seq: i % 64 }))).toEqual(msg);
    }
    expect(r.stats).toEqual({ messages: 70, refused: 0, timeouts: 0 });
  });

  it("refuses a continuation with no message in progress (out of order)", () => {
    const { r } = harness();
    const frags = fragment(message(100), 23);
    const err = expectTriadkitError(() => r.push(frags[1] as Uint8Array), "prov.bad_message");
    expect(err.context).toMatchObject({ reason: "out_of_order" });
  });

  it("refuses reordered fragments: last before a middle one, first not first", () => {
    const frags = fragment(message(100), 23, { seq: 9 });
    const { r } = harness();
    r.push(frags[0] as Uint8Array);
    const err = expectTriadkitError(() => r.push(frags.at(-1) as Uint8Array), "prov.bad_message");
    expect(err.context).toMatchObject({ reason: "short" });
    // first fragment arriving second: the earlier continuation was refused, then a clean start works
    const { r: r2 } = harness();
    expectTriadkitError(() => r2.push(frags[2] as Uint8Array), "prov.bad_message");
    expect(feedAll(r2, frags)).toEqual(message(100));
  });

  it("refuses reorders that move the first fragment later or the last fragment earlier (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...MTUS),
        fc.integer({ min: 60, max: 2000 }),
        fc.nat(),
        fc.boolean(),
        (mtu, n, pick, moveLast) => {
          const frags = fragment(message(n), mtu);
          fc.pre(frags.length >= 3);
          let order: Uint8Array[];
          if (moveLast) {
            // the last fragment jumps ahead to position 1..len-2
            const to = 1 + (pick % (frags.length - 2));
            const rest = frags.slice(0, -1);
            order = [...rest.slice(0, to), frags.at(-1) as Uint8Array, ...rest.slice(to)];
          } else {
            // a later fragment arrives before the first one
            const from = 1 + (pick % (frags.length - 1));
            order = [frags[from] as Uint8Array, ...frags.filter((_, i) => i !== from)];
          }
          const { r } = harness();
          expect(() =>
            order.forEach((f) => {
              r.push(f);
            }),
          ).toThrow(TriadkitError);
        },
      ),
    );
  });

  it("refuses a dropped fragment (truncated message)", () => {
    const frags = fragment(message(200), 23);
    const { r } = harness();
    expect(() =>
      frags
        .filter((_, i) => i !== 3)
        .forEach((f) => {
          r.push(f);
        }),
    ).toThrow(/\(prov.bad_message\)/);
  });

  it("refuses length mismatches: too many bytes, too few, corrupted length field", () => {
    const frags = fragment(message(50), 23);
    const { r } = harness();
    // a duplicated middle fragment overruns the declared length
    r.push(frags[0] as Uint8Array);
    r.push(frags[1] as Uint8Array);
    const over = expectTriadkitError(() => r.push(frags[1] as Uint8Array), "prov.bad_message");
    expect(over.context).toMatchObject({ reason: "overlong" });
    // first+last fragment whose body is longer or shorter than declared
    expect(
      expectTriadkitError(() => r.push(Uint8Array.of(0x03, 0, 1, 9, 9)), "prov.bad_message").context,
    ).toMatchObject({ reason: "overlong" });
    expect(
      expectTriadkitError(() => r.push(Uint8Array.of(0x03, 0, 3, 9, 9)), "prov.bad_message").context,
    ).toMatchObject({ reason: "short" });
    // corrupted length field: declared 0x1028 > 4096
    const bad = Uint8Array.from(frags[0] as Uint8Array);
    bad[1] = 0x10;
    bad[2] = 0x01;
    expectTriadkitError(() => r.push(bad), "prov.frame_too_large");
    expect(r.inProgress).toBe(false);
  });

  it("refuses an empty fragment, a truncated first header, an empty continuation", () => {
    const { r } = harness();
    expectTriadkitError(() => r.push(new Uint8Array(0)), "prov.bad_message");
    expectTriadkitError(() => r.push(Uint8Array.of(0x01, 0x00)), "prov.bad_message");
    r.push(Uint8Array.of(0x01, 0, 2, 1));
    expectTriadkitError(() => r.push(Uint8Array.of(0x02)), "prov.bad_message");
    expectTriadkitError(() => parseFragmentHeader(new Uint8Array(0)), "prov.bad_message");
  });

  it("refuses a fragment of another message mid-message, and a new first fragment mid-message", () => {
    const a = fragment(message(60), 23, { seq: 1 });
    const b = fragment(message(60), 23, { seq: 2 });
    const { r } = harness();
    r.push(a[0] as Uint8Array);
    expect(expectTriadkitError(() => r.push(b[1] as Uint8Array), "prov.bad_message").context).toMatchObject({
      reason: "sequence",
    });
    r.push(a[0] as Uint8Array);
    expect(expectTriadkitError(() => r.push(b[0] as Uint8Array), "prov.bad_message").context).toMatchObject({
      reason: "interrupted",
    });
    expect(feedAll(r, b)).toEqual(message(60));
  });

  it("honours a lower maxMessageBytes", () => {
    const { r } = harness({ maxMessageBytes: 100 });
    expectTriadkitError(() => feedAll(r, fragment(message(101), 185)), "prov.frame_too_large");
    expect(feedAll(r, fragment(message(100), 185))).toEqual(message(100));
    expectTriadkitError(() => new Reassembler({ now: () => 0, maxMessageBytes: 4097 }), "config.invalid");
    expectTriadkitError(() => new Reassembler({ now: () => 0, timeoutMs: 0 }), "config.invalid");
  });

  it("times out a partial message via deadline/checkTimeout, never hangs", () => {
    const { r, advance } = harness({ timeoutMs: 1000 });
    const frags = fragment(message(100), 23);
    r.push(frags[0] as Uint8Array);
    expect(r.deadline).toBe(1000);
    advance(999);
    expect(r.checkTimeout()).toBeUndefined();
    advance(1);
    const err = r.checkTimeout();
    expect(isTriadkitError(err, "prov.reassembly_timeout")).toBe(true);
    expect(r.inProgress).toBe(false);
    expect(r.deadline).toBeUndefined();
    expect(r.stats.timeouts).toBe(1);
  });

  it("a late continuation after the deadline gets prov.reassembly_timeout; a late first fragment starts anew", () => {
    const { r, advance } = harness({ timeoutMs: 500 });
    const frags = fragment(message(100), 23);
    r.push(frags[0] as Uint8Array);
    advance(600);
    expectTriadkitError(() => r.push(frags[1] as Uint8Array), "prov.reassembly_timeout");
    r.push(frags[0] as Uint8Array);
    advance(600);
    expect(feedAll(r, fragment(message(30), 23, { seq: 3 }))).toEqual(message(30));
    expect(r.stats.timeouts).toBe(2);
  });

  it("random bytes never crash it: only coded errors, bounded state, and it recovers (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 600 }), { maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 60 }),
        (chunks, gaps) => {
          const { r, advance } = harness({ timeoutMs: 2000 });
          chunks.forEach((chunk, i) => {
            advance(gaps[i] ?? 0);
            try {
              const out = r.push(chunk);
              if (out) expect(out.message.length).toBeLessThanOrEqual(BLE_MAX_MESSAGE_BYTES);
            } catch (err) {
              expect(err).toBeInstanceOf(TriadkitError);
              expect(["prov.bad_message", "prov.frame_too_large", "prov.reassembly_timeout"]).toContain(
                (err as TriadkitError).code,
              );
            }
          });
          // Whatever came before, after a reset a good message goes through.
          r.reset();
          expect(feedAll(r, fragment(message(77), 23))).toEqual(message(77));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("corrupting one byte of a fragment's header is refused or changes nothing silently (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 500 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (msg, which, xor) => {
          const frags = fragment(msg, 23, { seq: 7 });
          const i = which % frags.length;
          const bad = Uint8Array.from(frags[i] as Uint8Array);
          bad[0] = (bad[0] as number) ^ xor;
          const { r } = harness();
          let result: Uint8Array | undefined;
          let threw = false;
          try {
            for (const [j, f] of frags.entries()) result = r.push(j === i ? bad : f)?.message ?? result;
          } catch (err) {
            expect(err).toBeInstanceOf(TriadkitError);
            threw = true;
          }
          // A corrupted flags byte never yields a different message.
          if (!threw && result !== undefined) expect(result).toEqual(msg);
        },
      ),
    );
  });
});

describe("GATT layout and info characteristic", () => {
  it("has fixed 128-bit UUIDs with request/response/info", () => {
    const uuids = [
      TRIADKIT_PROV_GATT.service,
      ...Object.values(TRIADKIT_PROV_GATT.characteristics).map((c) => c.uuid),
    ] as string[];
    for (const u of uuids) expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(new Set(uuids).size).toBe(4);
    expect(TRIADKIT_PROV_GATT.characteristics.request.properties).toEqual(["write", "writeWithoutResponse"]);
    expect(TRIADKIT_PROV_GATT.characteristics.response.properties).toEqual(["notify"]);
    expect(TRIADKIT_PROV_GATT.characteristics.info.properties).toEqual(["read"]);
  });

  it("round-trips the info value (property) and refuses malformed ones", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }),
        (framingVersion, protocolVersion, securityVersions) => {
          const info = { framingVersion, protocolVersion, securityVersions };
          expect(decodeProvisioningInfo(encodeProvisioningInfo(info))).toEqual(info);
        },
      ),
    );
    expect([...encodeProvisioningInfo({ framingVersion: 1, protocolVersion: 1, securityVersions: [2, 1] })]).toEqual([
      1, 1, 2, 2, 1,
    ]);
    expectTriadkitError(() => decodeProvisioningInfo(Uint8Array.of(1, 1, 2, 2)), "prov.bad_message");
    expectTriadkitError(() => decodeProvisioningInfo(Uint8Array.of(1, 1, 0)), "prov.bad_message");
    expectTriadkitError(
      () => encodeProvisioningInfo({ framingVersion: 1, protocolVersion: 256, securityVersions: [1] }),
      "config.invalid",
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        try {
          decodeProvisioningInfo(bytes);
        } catch (err) {
          expect(isTriadkitError(err, "prov.bad_message")).toBe(true);
        }
      }),
    );
  });
});
