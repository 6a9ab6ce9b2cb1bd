import { describe, expect, it } from "vitest";
import type { ErrorCode } from "../errors.js";
import { x25519Shared } from "../provisioning/session.js";
import { expectTriadkitError } from "../testing.js";
import { fromHex, toHex } from "../util/bytes.js";
import { ANCHOR_PUBLIC_KEY, ANCHOR_SEED, range } from "./__tests__/fixtures.js";
import {
  createFactoryBleDevice,
  createFactoryBleStation,
  decodeFactoryBleAnswer,
  decodeFactoryBleAuth,
  decodeFactoryBleDeviceHello,
  decodeFactoryBleHello,
  deriveFactoryBleKeys,
  encodeFactoryBleAuth,
  type FactoryBleRecords,
  factoryBleAuthMessage,
  factoryBleTranscriptBytes,
  factoryBleTranscriptHash,
  signFactoryBleAuth,
} from "./ble-channel.js";

const CHIP = "a1b2c3d4e5f60718";
const MAC = "0a1b2c3d4e5f";
const OTHER_MAC = "0a1b2c3d4e60";

/** Deterministic "random": each call returns the next bytes of a counter starting at `start`. */
function counter(start: number): (n: number) => Uint8Array {
  let next = start;
  return (n) => {
    const out = range(next, n);
    next = (next + n) & 0xff;
    return out;
  };
}

function station(expectedMac = MAC, seed = ANCHOR_SEED, start = 0x10) {
  return createFactoryBleStation({
    random: counter(start),
    expectedMac,
    anchor: ANCHOR_PUBLIC_KEY,
    sign: (hash) => signFactoryBleAuth(seed, hash),
  });
}

function device(bleMac = MAC, anchor?: Uint8Array) {
  return createFactoryBleDevice({
    random: counter(0x80),
    chipId: CHIP,
    bleMac,
    ...(anchor === undefined ? {} : { anchor }),
  });
}

function handshake(s = station(), d = device()): { st: FactoryBleRecords; dev: FactoryBleRecords } {
  const { auth } = s.receiveDeviceHello(d.receiveHello(s.hello));
  const answer = d.receiveAuth(auth);
  if (!("records" in answer)) throw new Error(`refused ${answer.refused}`);
  return { st: s.receiveAnswer(answer.answer), dev: answer.records };
}

describe("factory BLE channel v1", () => {
  it("agrees on keys and carries bytes both ways, in order", () => {
    const { st, dev } = handshake();
    expect(dev.open(st.seal(Uint8Array.of(1, 2, 3)))).toEqual(Uint8Array.of(1, 2, 3));
    expect(dev.open(st.seal(Uint8Array.of(4)))).toEqual(Uint8Array.of(4));
    expect(st.open(dev.seal(Uint8Array.of(9, 9)))).toEqual(Uint8Array.of(9, 9));
  });

  it("the station refuses a device reporting another MAC than the scanned one, before signing anything", () => {
    let signed = 0;
    const s = createFactoryBleStation({
      random: counter(1),
      expectedMac: "0A:1B:2C:3D:4E:5F",
      anchor: ANCHOR_PUBLIC_KEY,
      sign: (hash) => {
        signed++;
        return signFactoryBleAuth(ANCHOR_SEED, hash);
      },
    });
    const err = expectTriadkitError(
      () => s.receiveDeviceHello(device(OTHER_MAC).receiveHello(s.hello)),
      "station.ble_wrong_device",
    );
    expect(err.context).toMatchObject({ expectedMac: MAC, bleMac: OTHER_MAC, chipId: CHIP });
    expect(signed).toBe(0);
  });

  it("the device refuses an auth signed for another MAC (the neighbouring board), and the station reports it", () => {
    // A station that expects OTHER_MAC but is answered by MAC cannot get past its own check; a relay that rewrites
    // the reported MAC changes the transcript. Here the device is given an auth whose expectedMac is not its own.
    const s = station(OTHER_MAC);
    const d = device(MAC);
    const hello = decodeFactoryBleDeviceHello(d.receiveHello(s.hello));
    const forged = station(OTHER_MAC);
    const { auth } = forged.receiveDeviceHello(
      createFactoryBleDevice({ random: counter(0x80), chipId: CHIP, bleMac: OTHER_MAC }).receiveHello(forged.hello),
    );
    expect(hello.bleMac).toBe(MAC);
    const answer = d.receiveAuth(auth);
    expect(answer).toMatchObject({ refused: "wrong_mac" });
    expect(decodeFactoryBleAnswer(answer.answer)).toEqual({ t: "fble_refused", reason: "wrong_mac" });
  });

  it("a device holding a record accepts only its own anchor; a bad signature is refused", () => {
    const other = createFactoryBleStation({
      random: counter(3),
      expectedMac: MAC,
      anchor: new Uint8Array(32).fill(7),
      sign: () => new Uint8Array(64),
    });
    const d1 = device(MAC, ANCHOR_PUBLIC_KEY);
    const a1 = d1.receiveAuth(other.receiveDeviceHello(d1.receiveHello(other.hello)).auth);
    expect(a1).toMatchObject({ refused: "anchor_mismatch" });
    const s = station();
    const d2 = device(MAC);
    const { auth } = s.receiveDeviceHello(d2.receiveHello(s.hello));
    const parsed = decodeFactoryBleAuth(auth);
    const tampered = encodeFactoryBleAuth({
      ...parsed,
      signature: parsed.signature.map((b, i) => (i === 0 ? b ^ 1 : b)),
    });
    const a2 = d2.receiveAuth(tampered);
    expect(a2).toMatchObject({ refused: "bad_signature" });
    expectTriadkitError(() => s.receiveAnswer(a2.answer), "factory.ble_refused");
    // The holder of the right anchor gets in.
    expect(() => handshake(station(), device(MAC, ANCHOR_PUBLIC_KEY))).not.toThrow();
  });

  it("refuses a tampered, replayed, reordered or reflected record and stays failed", () => {
    const cases: [string, (st: FactoryBleRecords, dev: FactoryBleRecords) => void, ErrorCode][] = [
      [
        "tampered",
        (st, dev) => {
          const r = st.seal(Uint8Array.of(1, 2, 3));
          r[r.length - 1] = (r[r.length - 1] as number) ^ 1;
          dev.open(r);
        },
        "factory.ble_decrypt_failed",
      ],
      [
        "replayed",
        (st, dev) => {
          const r = st.seal(Uint8Array.of(1));
          dev.open(r);
          dev.open(r);
        },
        "factory.ble_replay",
      ],
      [
        "reordered",
        (st, dev) => {
          st.seal(Uint8Array.of(1));
          dev.open(st.seal(Uint8Array.of(2)));
        },
        "factory.ble_replay",
      ],
      ["reflected", (st) => st.open(st.seal(Uint8Array.of(1))), "factory.ble_decrypt_failed"],
      ["truncated", (_st, dev) => dev.open(new Uint8Array(20)), "factory.ble_bad_message"],
    ];
    for (const [, run, code] of cases) {
      const { st, dev } = handshake();
      expectTriadkitError(() => run(st, dev), code);
      const broken = st.failed ? st : dev;
      expect(broken.failed).toBe(true);
      expectTriadkitError(() => broken.open(new Uint8Array(30)), "factory.ble_bad_message");
    }
  });

  it("a record from another session does not open (fresh ephemeral keys every time)", () => {
    const a = handshake(station(MAC, ANCHOR_SEED, 0x10));
    const b = handshake(station(MAC, ANCHOR_SEED, 0x40));
    expectTriadkitError(() => b.dev.open(a.st.seal(Uint8Array.of(1))), "factory.ble_decrypt_failed");
  });

  it("the station refuses a wrong key confirmation and out-of-turn messages; malformed messages are coded", () => {
    const s = station();
    const d = device();
    const { auth } = s.receiveDeviceHello(d.receiveHello(s.hello));
    d.receiveAuth(auth);
    expectTriadkitError(
      () =>
        s.receiveAnswer(
          Uint8Array.from([
            0xa2,
            0x61,
            0x74,
            0x67,
            ...Buffer.from("fble_ok"),
            0x67,
            ...Buffer.from("confirm"),
            0x58,
            32,
            ...new Uint8Array(32),
          ]),
        ),
      "factory.ble_refused",
    );
    expectTriadkitError(() => s.receiveDeviceHello(new Uint8Array(3)), "factory.ble_bad_message");
    expectTriadkitError(() => decodeFactoryBleHello(Uint8Array.of(0xa0)), "factory.ble_bad_message");
    expectTriadkitError(() => d.receiveHello(s.hello), "factory.ble_bad_message");
    const d2 = device();
    d2.receiveHello(station().hello);
    expect(d2.receiveAuth(Uint8Array.of(0xa0))).toMatchObject({ refused: "bad_message" });
  });

  it("worked vector (docs/factory-protocol.md, Over BLE)", () => {
    const s = station(MAC, ANCHOR_SEED, 0x10);
    const d = device(MAC);
    expect(toHex(s.hello)).toBe(VECTOR.hello);
    const deviceHello = d.receiveHello(s.hello);
    expect(toHex(deviceHello)).toBe(VECTOR.deviceHello);
    const h = decodeFactoryBleHello(s.hello);
    const dh = decodeFactoryBleDeviceHello(deviceHello);
    const t = { ...h, ...dh, expectedMac: MAC, anchor: ANCHOR_PUBLIC_KEY };
    expect(toHex(factoryBleTranscriptBytes(t))).toBe(VECTOR.transcript);
    const hash = factoryBleTranscriptHash(t);
    expect(toHex(hash)).toBe(VECTOR.transcriptHash);
    expect(toHex(factoryBleAuthMessage(hash)).endsWith(VECTOR.transcriptHash)).toBe(true);
    const { auth } = s.receiveDeviceHello(deviceHello);
    expect(toHex(decodeFactoryBleAuth(auth).signature)).toBe(VECTOR.signature);
    const answer = d.receiveAuth(auth);
    expect(toHex(answer.answer)).toBe(VECTOR.answer);
    const st = s.receiveAnswer(answer.answer);
    expect(toHex(st.seal(fromHex("00")))).toBe(VECTOR.record0);
    const keys = deriveFactoryBleKeys(x25519Shared(range(0x10, 32), dh.devicePub), hash);
    expect(toHex(keys.s2d)).toBe(VECTOR.s2d);
    expect(toHex(keys.d2s)).toBe(VECTOR.d2s);
  });
});

const VECTOR = {
  hello:
    "a461746a66626c655f68656c6c6f6176016a73746174696f6e5075625820d89e3bad79437dbed9f843418304f460ff05c7fe81fe4a9577a804cb9367ff666c73746174696f6e4e6f6e636550303132333435363738393a3b3c3d3e3f",
  deviceHello:
    "a661746b66626c655f646576696365617601696465766963655075625820493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d6b6465766963654e6f6e636550a0a1a2a3a4a5a6a7a8a9aaabacadaeaf66636869704964706131623263336434653566363037313866626c654d61636c306131623263336434653566",
  transcript:
    "8a7474726961646b69742f666163746f72792d626c65015820d89e3bad79437dbed9f843418304f460ff05c7fe81fe4a9577a804cb9367ff6650303132333435363738393a3b3c3d3e3f5820493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d50a0a1a2a3a4a5a6a7a8a9aaabacadaeaf70613162326333643465356636303731386c3061316232633364346535666c306131623263336434653566582079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664",
  transcriptHash: "c81619a2c9d8d8683d109b5f5b9467a7f78f4bae26894d93efb5ed38313241f5",
  signature:
    "9a79534fd00cedf52c28172b5beec0acb1bee7575e771cc9ef5b2f72790b16c583a93ae1428e4988a0abba7c537f2e246c10f943a3d0ed82d7420fd5906bb30e",
  answer: "a261746766626c655f6f6b67636f6e6669726d5820973da988101b8361ae50e74adf3d4848d9991b4033f4f8dd372ffea60bc830c1",
  record0: "01010000000000000000a4e3415faa77d6dac457e924d5e476785c",
  s2d: "ecae848e04928daaf31819f26691b4ffe6ca6f159364267dbf7abe8636f7a149",
  d2s: "f7334f77f435b434c1f68ba951dee67795b5c89aa6257401be3606a7672100e3",
};
