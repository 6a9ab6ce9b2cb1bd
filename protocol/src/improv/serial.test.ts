import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTriadkitError, TriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { IMPROV_MAX_PACKET_BYTES, ImprovCommand, ImprovError, ImprovPacketType, ImprovState } from "./constants.js";
import {
  decodeImprovMessage,
  decodeImprovPacket,
  decodeRpcBody,
  decodeRpcResultBody,
  decodeWifiSettings,
  deviceInfoStrings,
  encodeImprovMessage,
  encodeImprovPacket,
  encodeRpcBody,
  encodeRpcPacket,
  encodeRpcResultBody,
  encodeWifiSettings,
  encodeWifiSettingsPacket,
  type ImprovMessage,
  type ImprovPacket,
  ImprovSerialParser,
  improvChecksum,
  parseDeviceInfo,
  parseScanEntry,
  scanEntryStrings,
} from "./serial.js";

const ascii = (s: string) => [...new TextEncoder().encode(s)];
const packets = (events: ReturnType<ImprovSerialParser["push"]>) =>
  events.flatMap((e) => (e.kind === "packet" ? [e.packet] : []));

const PACKET_TYPES = [
  ImprovPacketType.CurrentState,
  ImprovPacketType.ErrorState,
  ImprovPacketType.Rpc,
  ImprovPacketType.RpcResult,
];
const arbPacket: fc.Arbitrary<ImprovPacket> = fc.record({
  type: fc.constantFrom(...PACKET_TYPES),
  data: fc.uint8Array({ maxLength: 255 }),
});

describe("serial packets", () => {
  it("encodes the spec's layout with the sum-of-all-bytes checksum (vector)", () => {
    const bytes = encodeImprovPacket({ type: 0x01, data: Uint8Array.of(0x02) });
    const body = [...ascii("IMPROV"), 1, 1, 1, 2];
    expect([...bytes]).toEqual([...body, body.reduce((a, b) => a + b, 0) & 0xff]);
    // ESPHome's "current state: ready" as sent on the wire, with the newline
    expect([...encodeImprovMessage({ kind: "state", state: ImprovState.Authorized })]).toEqual([
      0x49, 0x4d, 0x50, 0x52, 0x4f, 0x56, 0x01, 0x01, 0x01, 0x02, 0xe2, 0x0a,
    ]);
  });

  it("encodes the spec's Send-Wi-Fi-settings example", () => {
    const data = encodeWifiSettings({ ssid: "MyWirelessAP", password: "mysecurepassword" });
    const body = encodeRpcBody({ command: ImprovCommand.SendWifiSettings, data });
    expect([...body.subarray(0, 3)]).toEqual([0x01, 0x1e, 0x0c]);
    expect(body[3 + 12]).toBe(0x10);
    expect(body.length).toBe(2 + 0x1e);
    expect(decodeWifiSettings(decodeRpcBody(body).data)).toEqual({
      ssid: "MyWirelessAP",
      password: "mysecurepassword",
    });
    const packet = encodeWifiSettingsPacket({ ssid: "MyWirelessAP", password: "mysecurepassword" });
    expect(packet.at(-1)).toBe(0x0a);
    expect(decodeImprovPacket(packet.subarray(0, -1)).type).toBe(ImprovPacketType.Rpc);
  });

  it("round-trips any packet (property)", () => {
    fc.assert(
      fc.property(arbPacket, (p) => {
        const bytes = encodeImprovPacket(p);
        expect(improvChecksum(bytes, bytes.length - 1)).toBe(bytes.at(-1));
        expect(decodeImprovPacket(bytes)).toEqual(p);
      }),
    );
  });

  it("refuses a flipped byte with improv.checksum or improv.bad_packet (property)", () => {
    fc.assert(
      fc.property(arbPacket, fc.nat(), fc.integer({ min: 1, max: 255 }), (p, at, xor) => {
        const bytes = encodeImprovPacket(p);
        const i = at % bytes.length;
        bytes[i] = (bytes[i] as number) ^ xor;
        let thrown: unknown;
        try {
          decodeImprovPacket(bytes);
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(TriadkitError);
        expect(["improv.checksum", "improv.bad_packet"]).toContain((thrown as TriadkitError).code);
      }),
    );
  });

  it("decoding random bytes only ever throws coded errors (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withHeader) => {
        const input = withHeader ? Uint8Array.from([...ascii("IMPROV"), 1, ...bytes]) : bytes;
        try {
          const packet = decodeImprovPacket(input);
          decodeImprovMessage(packet);
        } catch (err) {
          expect(err).toBeInstanceOf(TriadkitError);
          expect(["improv.bad_packet", "improv.checksum"]).toContain((err as TriadkitError).code);
        }
      }),
    );
  });

  it("refuses short, wrong-header, wrong-version, wrong-length and unknown-type packets", () => {
    const good = encodeImprovPacket({ type: 1, data: Uint8Array.of(2) });
    expectTriadkitError(() => decodeImprovPacket(good.subarray(0, 9)), "improv.bad_packet");
    expectTriadkitError(() => decodeImprovPacket(Uint8Array.from([0x69, ...good.subarray(1)])), "improv.bad_packet");
    const v2 = Uint8Array.from(good);
    v2[6] = 2;
    expectTriadkitError(() => decodeImprovPacket(v2), "improv.bad_packet");
    expectTriadkitError(() => decodeImprovPacket(Uint8Array.from([...good, 0])), "improv.bad_packet");
    const raw = [...ascii("IMPROV"), 1, 9, 0];
    expectTriadkitError(() => decodeImprovPacket(Uint8Array.from([...raw, improvChecksum(raw)])), "improv.bad_packet");
    expectTriadkitError(() => encodeImprovPacket({ type: 5, data: new Uint8Array(0) }), "improv.bad_packet");
    expectTriadkitError(() => encodeImprovPacket({ type: 1, data: new Uint8Array(256) }), "improv.bad_packet");
  });
});

describe("RPC bodies", () => {
  it("round-trip RPC commands and results (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 253 }), (command, data) => {
        expect(decodeRpcBody(encodeRpcBody({ command, data }))).toEqual({ command, data });
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.string({ maxLength: 30 }), { maxLength: 6 }),
        (command, strings) => {
          const body = encodeRpcResultBody({ command, strings });
          expect(decodeRpcResultBody(body)).toEqual({ command, strings });
        },
      ),
    );
  });

  it("round-trips Wi-Fi settings, including UTF-8 and empty passwords (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 0, maxLength: 32 }),
        fc.string({ minLength: 0, maxLength: 63 }),
        (ssid, password) => {
          fc.pre(new TextEncoder().encode(ssid + password).length <= 251);
          expect(decodeWifiSettings(encodeWifiSettings({ ssid, password }))).toEqual({ ssid, password });
        },
      ),
    );
  });

  it("Wi-Fi settings decoder: random data gives coded errors only, and never echoes the password", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (data) => {
        try {
          decodeWifiSettings(data);
        } catch (err) {
          expect(isTriadkitError(err, "improv.bad_packet")).toBe(true);
        }
      }),
    );
    const secret = "hunter2-very-secret";
    const data = encodeWifiSettings({ ssid: "Home", password: secret });
    for (const bad of [data.subarray(0, -1), Uint8Array.from([...data, 0]), Uint8Array.of(4, 0x48, 0x6f, 0x6d)]) {
      const err = expectTriadkitError(() => decodeWifiSettings(bad), "improv.bad_packet");
      expect(JSON.stringify(err.toJSON())).not.toContain("hunter2");
    }
    const invalidUtf8 = Uint8Array.of(1, 0x41, 2, 0xc3, 0x28);
    expect(JSON.stringify(expectTriadkitError(() => decodeWifiSettings(invalidUtf8), "improv.bad_packet"))).toMatch(
      /password/,
    );
  });

  it("refuses malformed bodies", () => {
    expectTriadkitError(() => decodeRpcBody(Uint8Array.of(1)), "improv.bad_packet");
    expectTriadkitError(() => decodeRpcBody(Uint8Array.of(1, 2, 0)), "improv.bad_packet");
    expectTriadkitError(() => decodeRpcResultBody(Uint8Array.of(4, 3, 5, 0x41, 0x42)), "improv.bad_packet");
    expectTriadkitError(() => decodeRpcResultBody(Uint8Array.of(4, 2, 1, 0xff)), "improv.bad_packet");
    expectTriadkitError(() => encodeRpcBody({ command: 1, data: new Uint8Array(254) }), "improv.bad_packet");
    expectTriadkitError(() => encodeRpcResultBody({ command: 4, strings: ["x".repeat(256)] }), "improv.bad_packet");
    expectTriadkitError(
      () => encodeWifiSettings({ ssid: "s".repeat(32), password: "p".repeat(220) }),
      "improv.bad_packet",
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (body) => {
        for (const decode of [decodeRpcBody, decodeRpcResultBody]) {
          try {
            decode(body);
          } catch (err) {
            expect(isTriadkitError(err, "improv.bad_packet")).toBe(true);
          }
        }
      }),
    );
  });

  it("device info and scan entries", () => {
    const info = { firmware: "triadkit", version: "0.1.0", chip: "sim", deviceName: "Lamp" };
    expect(deviceInfoStrings(info)).toEqual(["triadkit", "0.1.0", "sim", "Lamp"]);
    expect(parseDeviceInfo(deviceInfoStrings(info))).toEqual(info);
    const withOs = { ...info, osName: "Linux", osVersion: "6.1" };
    expect(parseDeviceInfo(deviceInfoStrings(withOs))).toEqual(withOs);
    expectTriadkitError(() => parseDeviceInfo(["a", "b", "c"]), "improv.bad_packet");
    expect(scanEntryStrings({ ssid: "Home", rssi: -61, authRequired: true })).toEqual(["Home", "-61", "YES"]);
    expect(parseScanEntry(["Cafe", "-80", "NO"])).toEqual({ ssid: "Cafe", rssi: -80, authRequired: false });
    expectTriadkitError(() => parseScanEntry(["Cafe", "loud", "NO"]), "improv.bad_packet");
    expectTriadkitError(() => parseScanEntry(["Cafe", "-80", "WPA2"]), "improv.bad_packet");
  });

  it("messages round-trip through packets (property)", () => {
    const arbMessage: fc.Arbitrary<ImprovMessage> = fc.oneof(
      fc.record({ kind: fc.constant("state" as const), state: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("error" as const), error: fc.integer({ min: 0, max: 255 }) }),
      fc.record({
        kind: fc.constant("rpc" as const),
        command: fc.integer({ min: 0, max: 255 }),
        data: fc.uint8Array({ maxLength: 100 }),
      }),
      fc.record({
        kind: fc.constant("result" as const),
        command: fc.integer({ min: 0, max: 255 }),
        strings: fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }),
      }),
    );
    fc.assert(
      fc.property(arbMessage, (m) => {
        const bytes = encodeImprovMessage(m);
        expect(bytes.at(-1)).toBe(0x0a);
        expect(decodeImprovMessage(decodeImprovPacket(bytes.subarray(0, -1)))).toEqual(m);
      }),
    );
    expectTriadkitError(
      () => decodeImprovMessage({ type: ImprovPacketType.ErrorState, data: Uint8Array.of(1, 2) }),
      "improv.bad_packet",
    );
    expect(decodeImprovMessage({ type: 2, data: Uint8Array.of(ImprovError.UnableToConnect) })).toEqual({
      kind: "error",
      error: 3,
    });
  });
});

describe("ImprovSerialParser", () => {
  it("finds packets among console lines, split at every byte", () => {
    const stream = Uint8Array.from([
      ...ascii("I (312) boot: ESP-IDF v5.1\r\n"),
      ...encodeRpcPacket(ImprovCommand.RequestCurrentState),
      ...ascii("IMPRESSIVE log line mentioning IMPROV and IMPR\n"),
      ...encodeRpcPacket(ImprovCommand.RequestDeviceInfo),
    ]);
    const parser = new ImprovSerialParser();
    const events = [...stream].flatMap((b) => parser.push(Uint8Array.of(b)));
    expect(packets(events).map((p) => decodeImprovMessage(p))).toEqual([
      { kind: "rpc", command: 2, data: new Uint8Array(0) },
      { kind: "rpc", command: 3, data: new Uint8Array(0) },
    ]);
    const noise = new TextDecoder().decode(
      Uint8Array.from(events.flatMap((e) => (e.kind === "noise" ? [...e.bytes] : []))),
    );
    expect(noise).toContain("boot: ESP-IDF");
    expect(noise).toContain("IMPRESSIVE");
  });

  it("finds every packet among random noise in random chunks (property)", () => {
    const noiseArb = fc.uint8Array({ maxLength: 40 }).map((b) => b.map((x) => (x === 0x49 ? 0x20 : x)));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(noiseArb, arbPacket), { maxLength: 8 }),
        noiseArb,
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (pairs, tail, cuts) => {
          const stream = Uint8Array.from([
            ...pairs.flatMap(([noise, p]) => [...noise, ...encodeImprovPacket(p, { newline: true })]),
            ...tail,
          ]);
          const parser = new ImprovSerialParser();
          const found: ImprovPacket[] = [];
          let offset = 0;
          let i = 0;
          while (offset < stream.length) {
            const n = cuts[i++ % cuts.length] as number;
            found.push(...packets(parser.push(stream.subarray(offset, offset + n))));
            offset += n;
          }
          expect(found).toEqual(pairs.map(([, p]) => p));
        },
      ),
    );
  });

  it("reports a bad checksum and still finds the real packet behind a spurious header", () => {
    const good = encodeRpcPacket(ImprovCommand.RequestScannedNetworks);
    const bogus = Uint8Array.from([...ascii("IMPROV"), 1, 3, 4]); // claims 4 data bytes
    const parser = new ImprovSerialParser();
    const events = parser.push(Uint8Array.from([...bogus, ...good]));
    expect(events.some((e) => e.kind === "invalid" && e.error.code === "improv.checksum")).toBe(true);
    expect(packets(events)).toHaveLength(1);
    expect(parser.stats.checksumErrors).toBe(1);
    expect(parser.stats.packets).toBe(1);
  });

  it("reports an unknown type with a good checksum as improv.bad_packet", () => {
    const raw = [...ascii("IMPROV"), 1, 0x09, 0];
    const parser = new ImprovSerialParser();
    const events = parser.push(Uint8Array.from([...raw, improvChecksum(raw)]));
    expect(events).toMatchObject([{ kind: "invalid", error: { code: "improv.bad_packet" } }]);
  });

  it("drops a cut-off packet after the inter-byte timeout", () => {
    const packet = encodeRpcPacket(ImprovCommand.RequestDeviceInfo);
    const parser = new ImprovSerialParser({ interByteTimeoutMs: 100 });
    expect(parser.push(packet.subarray(0, 8), 0)).toEqual([]);
    expect(parser.buffered).toBe(8);
    const events = parser.push(packet, 500);
    expect(packets(events)).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "noise" });
    // within the timeout the two halves join
    expect(parser.push(packet.subarray(0, 5), 600)).toEqual([]);
    expect(packets(parser.push(packet.subarray(5), 650))).toHaveLength(1);
  });

  it("never throws on random input and keeps at most one packet buffered (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 300 }),
            fc.constant(Uint8Array.from([...ascii("IMPROV"), 1])),
            arbPacket.map((p) => encodeImprovPacket(p)),
          ),
          { maxLength: 30 },
        ),
        (chunks) => {
          const parser = new ImprovSerialParser({ interByteTimeoutMs: 50 });
          let t = 0;
          let total = 0;
          let accounted = 0;
          for (const chunk of chunks) {
            total += chunk.length;
            t += 10;
            for (const e of parser.push(chunk, t)) {
              if (e.kind === "noise") accounted += e.bytes.length;
              if (e.kind === "packet") accounted += e.packet.data.length + 10;
            }
            expect(parser.buffered).toBeLessThanOrEqual(IMPROV_MAX_PACKET_BYTES);
          }
          // every byte is noise, part of a packet, of a refused candidate's header byte, or still buffered
          const s = parser.stats;
          expect(accounted + parser.buffered).toBeLessThanOrEqual(total);
          expect(s.noiseBytes + parser.buffered).toBeLessThanOrEqual(total);
        },
      ),
    );
  });
});
