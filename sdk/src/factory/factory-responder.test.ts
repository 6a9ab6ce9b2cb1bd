import {
  checkVerifyMac,
  encodeFactoryFrame,
  encodeFactoryRecord,
  encodeFactoryRequestFrame,
  encodeFactoryResponseFrame,
  type FactoryRecord,
  factoryRecordHash,
  signConnect,
  TriadkitError,
  toHex,
  utf8,
} from "@triadkit/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { MemoryLogger } from "../logging/memory-logger.js";
import { MemorySerialLink } from "../modem/memory-serial-link.js";
import { SeededRandom } from "../random.js";
import type { FlashStore } from "../storage/flash-store.js";
import { MemoryFlashStore } from "../storage/memory-flash-store.js";
import {
  expectType,
  FactoryTestClient,
  OTHER_SEED,
  signAuth,
  TEST_POP,
  TEST_SECRET,
  testRecord,
} from "./__tests__/factory-test-client.js";
import { FACTORY_RECORD_KEY, FactoryCredentialStore } from "./credential-store.js";
import { createFactoryResponder, type FactoryChipInfo, type FactoryResponderOptions } from "./factory-responder.js";

const chip: FactoryChipInfo = {
  chipId: "a1b2c3d4e5f60718",
  wifiMac: "02aabbccdd01",
  bleMac: "02aabbccdd03",
  model: "lamp-v2",
  firmware: "1.4.0",
};
const nonce = (seed: number) => Uint8Array.from({ length: 16 }, (_, i) => (seed + i) & 0xff);

const rigs: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});

function rig(options: Partial<FactoryResponderOptions> = {}, store: FlashStore = new MemoryFlashStore()) {
  const [deviceLink, stationLink] = MemorySerialLink.pair();
  const logger = new MemoryLogger();
  const responder = createFactoryResponder({
    link: deviceLink,
    store,
    chip,
    random: new SeededRandom(7),
    logger,
    ...options,
  });
  const client = new FactoryTestClient(stationLink);
  const r = {
    responder,
    client,
    store,
    logger,
    close: async () => {
      client.close();
      await responder.close();
      await deviceLink.close();
    },
  };
  rigs.push(r);
  return r;
}

async function hello(client: FactoryTestClient) {
  return expectType(await client.request({ t: "hello", stationNonce: nonce(1) }), "hello");
}

async function burnt(record: FactoryRecord = testRecord(), lock = false) {
  const r = rig();
  expectType(await r.client.request({ t: "write_record", record }), "written");
  if (lock) expectType(await r.client.request({ t: "lock" }), "ok");
  return r;
}

describe("factory responder", () => {
  it("hello → write_record → verify (checked by the station) → lock", async () => {
    const { client, responder } = rig();
    const changes: string[] = [];
    responder.on("stateChanged", (c) => changes.push(c.state));

    const first = await hello(client);
    expect(first).toMatchObject({ protocolVersion: 1, ...chip, state: "blank" });
    expect(first.identity).toBeUndefined();
    expect(first.challenge).toHaveLength(16);

    const record = testRecord();
    const written = expectType(await client.request({ t: "write_record", record }), "written");
    expect(written.recordHash).toEqual(factoryRecordHash(record));

    const second = await hello(client);
    expect(second).toMatchObject({
      state: "provisioned",
      identity: { family: "alibaba", productKey: "a1FactTest1", deviceName: "fixture-0001" },
      workOrderId: "WO-1",
      triadId: "triad-1",
    });
    expect(second.recordHash).toEqual(written.recordHash);
    expect(second.challenge).not.toEqual(first.challenge);

    const stationNonce = nonce(40);
    const verified = expectType(await client.request({ t: "verify", stationNonce }), "verified");
    expect(verified.recordHash).toEqual(written.recordHash);
    expect(
      checkVerifyMac(TEST_SECRET, verified.deviceNonce, stationNonce, chip.chipId, verified.recordHash, verified.mac),
    ).toBe(true);
    // A second verify uses a fresh device nonce.
    const again = expectType(await client.request({ t: "verify", stationNonce }), "verified");
    expect(again.deviceNonce).not.toEqual(verified.deviceNonce);
    expect(again.mac).not.toEqual(verified.mac);

    expect(await client.request({ t: "lock" })).toEqual({ t: "ok", state: "locked" });
    expect((await hello(client)).state).toBe("locked");
    // Verify still answers on a locked device (reconcile after a crash), lock is idempotent.
    expectType(await client.request({ t: "verify", stationNonce }), "verified");
    expect(await client.request({ t: "lock" })).toEqual({ t: "ok", state: "locked" });
    expect(changes).toEqual(["provisioned", "locked"]);
  });

  it("the verify MAC is not a login: not the MQTT password, not an HMAC of the raw secret", async () => {
    const { client } = await burnt();
    const stationNonce = nonce(3);
    const v = expectType(await client.request({ t: "verify", stationNonce }), "verified");
    const macHex = toHex(v.mac);
    for (const style of ["c", "node"] as const) {
      const login = signConnect({
        triad: { productKey: "a1FactTest1", deviceName: "fixture-0001", deviceSecret: TEST_SECRET },
        style,
        timestampMs: 1_760_000_000_000,
      });
      expect(login.password.toLowerCase()).not.toBe(macHex);
    }
    expect(TEST_SECRET).not.toContain(macHex.slice(0, 8));
  });

  it("writing the same record again answers written without touching the flash; a different one is not_blank", async () => {
    const record = testRecord();
    const { client, store } = await burnt(record);
    const before = await store.read(FACTORY_RECORD_KEY);
    const again = expectType(await client.request({ t: "write_record", record }), "written");
    expect(again.recordHash).toEqual(factoryRecordHash(record));
    expect(await store.read(FACTORY_RECORD_KEY)).toEqual(before);
    const other = testRecord({ triadId: "triad-2" });
    expect(await client.request({ t: "write_record", record: other })).toMatchObject({ t: "error", code: "not_blank" });
  });

  it("a locked device refuses write_record and unsigned, wrongly signed and replayed unlocks", async () => {
    const { client } = await burnt(testRecord(), true);
    const record = testRecord();
    expect(await client.request({ t: "write_record", record })).toMatchObject({ t: "error", code: "locked" });
    expect(await client.request({ t: "write_record", record: testRecord({ triadId: "t-9" }) })).toMatchObject({
      code: "locked",
    });

    // No hello yet: no challenge.
    let h = await hello(client);
    const zero = new Uint8Array(64);
    expect(await client.request({ t: "unlock", signature: zero })).toMatchObject({ code: "bad_signature" });
    // The attempt consumed the challenge, even a right signature now fails.
    const right = signAuth("unlock", chip.chipId, h.challenge);
    expect(await client.request({ t: "unlock", signature: right })).toMatchObject({ code: "no_challenge" });

    h = await hello(client);
    const wrongKey = signAuth("unlock", chip.chipId, h.challenge, OTHER_SEED);
    expect(await client.request({ t: "unlock", signature: wrongKey })).toMatchObject({ code: "bad_signature" });

    h = await hello(client);
    const otherChip = signAuth("unlock", "ffffffffffffffff", h.challenge);
    expect(await client.request({ t: "unlock", signature: otherChip })).toMatchObject({ code: "bad_signature" });

    h = await hello(client);
    const resetSig = signAuth("factory_reset", chip.chipId, h.challenge); // signed for another action
    expect(await client.request({ t: "unlock", signature: resetSig })).toMatchObject({ code: "bad_signature" });

    // A signature over an older challenge (captured and replayed after a new hello).
    const old = h.challenge;
    h = await hello(client);
    expect(await client.request({ t: "unlock", signature: signAuth("unlock", chip.chipId, old) })).toMatchObject({
      code: "bad_signature",
    });
    expect((await hello(client)).state).toBe("locked");
  });

  it("unlock + factory_reset with the anchor's signature, then a new record can be written", async () => {
    const { client } = await burnt(testRecord(), true);
    let h = await hello(client);
    const unlock = signAuth("unlock", chip.chipId, h.challenge);
    expect(await client.request({ t: "unlock", signature: unlock })).toEqual({ t: "ok", state: "provisioned" });
    // Replaying the same signature: the challenge is gone.
    expect(await client.request({ t: "unlock", signature: unlock })).toMatchObject({ code: "no_challenge" });
    h = await hello(client);
    expect(h.state).toBe("provisioned");
    const reset = signAuth("factory_reset", chip.chipId, h.challenge);
    expect(await client.request({ t: "factory_reset", signature: reset })).toEqual({ t: "ok", state: "blank" });
    expect((await hello(client)).state).toBe("blank");

    const next = testRecord({ triadId: "triad-2", workOrderId: "WO-2" });
    expectType(await client.request({ t: "write_record", record: next }), "written");
    expect(await hello(client)).toMatchObject({ state: "provisioned", triadId: "triad-2" });
  });

  it("factory_reset of a locked device needs only its own signature", async () => {
    const { client } = await burnt(testRecord(), true);
    const h = await hello(client);
    const reset = signAuth("factory_reset", chip.chipId, h.challenge);
    expect(await client.request({ t: "factory_reset", signature: reset })).toEqual({ t: "ok", state: "blank" });
    expect((await hello(client)).state).toBe("blank");
  });

  it("a challenge expires", async () => {
    const clock = new ManualClock();
    const { client } = rig({ clock, challengeTtlMs: 1_000 });
    expectType(await client.request({ t: "write_record", record: testRecord() }), "written");
    const h = await hello(client);
    clock.advance(1_001);
    const sig = signAuth("unlock", chip.chipId, h.challenge);
    expect(await client.request({ t: "unlock", signature: sig })).toMatchObject({ code: "no_challenge" });
  });

  it("blank devices: verify, lock, unlock and reset answer no_record", async () => {
    const { client } = rig();
    expect(await client.request({ t: "verify", stationNonce: nonce(1) })).toMatchObject({ code: "no_record" });
    expect(await client.request({ t: "lock" })).toMatchObject({ code: "no_record" });
    const h = await hello(client);
    const sig = signAuth("factory_reset", chip.chipId, h.challenge);
    expect(await client.request({ t: "factory_reset", signature: sig })).toMatchObject({ code: "no_record" });
  });

  it("refuses bad records (bad_record), unknown requests and other protocol versions", async () => {
    const { client } = rig();
    // An anchor key that is all zeros: encodable, but the device could never be reworked.
    const noAnchor = testRecord({ anchor: { poolId: "pool-1", publicKey: new Uint8Array(32) } });
    expect(await client.request({ t: "write_record", record: noAnchor })).toMatchObject({ code: "bad_record" });

    // A record of version 2 inside an otherwise well-formed write_record.
    const bytes = encodeFactoryRecord(testRecord());
    const at = bytes.findIndex((b, i) => b === 0x61 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x01);
    expect(at).toBeGreaterThanOrEqual(0);
    const v2 = Uint8Array.from(bytes);
    v2[at + 2] = 0x02;
    const body = cborMap([
      ["t", cborText("write_record")],
      ["record", cborBytes(v2)],
    ]);
    let id = client.takeId();
    const frame = encodeFactoryFrame({ version: 1, kind: "request", requestId: id, body });
    expect(await client.requestBytes(id, frame)).toMatchObject({ code: "bad_record" });

    id = client.takeId();
    const dance = encodeFactoryFrame({
      version: 1,
      kind: "request",
      requestId: id,
      body: cborMap([["t", cborText("dance")]]),
    });
    expect(await client.requestBytes(id, dance)).toMatchObject({ code: "unknown_request" });

    id = client.takeId();
    const garbage = encodeFactoryFrame({ version: 1, kind: "request", requestId: id, body: Uint8Array.of(0xff) });
    expect(await client.requestBytes(id, garbage)).toMatchObject({ code: "bad_request" });

    id = client.takeId();
    const v9 = encodeFactoryFrame({
      version: 9,
      kind: "request",
      requestId: id,
      body: cborMap([["t", cborText("hello")]]),
    });
    expect(await client.requestBytes(id, v9)).toMatchObject({ code: "unsupported_version" });
    expect((await hello(client)).state).toBe("blank");
  });

  it("skips noise and damaged frames between requests, and ignores response packets", async () => {
    const { client, responder } = rig();
    const noise = utf8("boot: rst:0x1 (POWERON), entry 0x400805e4\r\nI (312) wifi: ready\r\n");
    expect((await client.request({ t: "hello", stationNonce: nonce(1) }, { before: noise })).t).toBe("hello");
    // A frame with a flipped byte gets no answer; the next one does.
    const damaged = encodeFactoryRequestFrame(client.takeId(), { t: "lock" });
    damaged[3] = (damaged[3] as number) ^ 0x10;
    await client.link.write(Uint8Array.of(0, ...damaged, 0xde, 0xad, 0xbe, 0xef, 0));
    await client.link.write(encodeFactoryResponseFrame(77, { t: "ok", state: "locked" }));
    const random = new SeededRandom(99).bytes(300).map((b) => b || 1);
    const w = await client.request({ t: "write_record", record: testRecord() }, { before: random });
    expect(w.t).toBe("written");
    await responder.idle();
    expect(responder.stats.framingErrors).toBeGreaterThanOrEqual(3);
    expect(responder.stats.requests).toBe(2);
    expect((await hello(client)).state).toBe("provisioned");
  });

  it("answers in order when requests arrive back to back", async () => {
    const { client } = rig();
    const answers = await Promise.all([
      client.request({ t: "hello", stationNonce: nonce(1) }),
      client.request({ t: "write_record", record: testRecord() }),
      client.request({ t: "verify", stationNonce: nonce(2) }),
      client.request({ t: "lock" }),
      client.request({ t: "hello", stationNonce: nonce(3) }),
    ]);
    expect(answers.map((a) => a.t)).toEqual(["hello", "written", "verified", "ok", "hello"]);
    expect(answers[0]).toMatchObject({ state: "blank" });
    expect(answers[4]).toMatchObject({ state: "locked" });
  });

  it("reports the modem's identity, and leaves it out when the modem fails", async () => {
    const modem = { imei: "490154203237518", iccid: "89860621330066521767", imsi: "460060086257148" };
    const ok = rig({ modem: async () => modem });
    expect((await hello(ok.client)).modem).toEqual(modem);
    const failing = rig({
      modem: async () => {
        throw new Error("AT timeout");
      },
    });
    expect((await hello(failing.client)).modem).toBeUndefined();
  });

  it("answers storage_failed when the flash fails, and keeps serving", async () => {
    const inner = new MemoryFlashStore();
    let fail = true;
    const store: FlashStore = {
      read: (k) => inner.read(k),
      write: (k, v) =>
        fail
          ? Promise.reject(new TriadkitError("store.io", "flash failed", { reason: "power_cut" }))
          : inner.write(k, v),
      delete: (k) => inner.delete(k),
      keys: () => inner.keys(),
      close: () => inner.close(),
      maxValueBytes: inner.maxValueBytes,
    };
    const { client } = rig({}, store);
    expect(await client.request({ t: "write_record", record: testRecord() })).toMatchObject({ code: "storage_failed" });
    expect((await hello(client)).state).toBe("blank");
    fail = false;
    expectType(await client.request({ t: "write_record", record: testRecord() }), "written");
  });

  it("never logs a secret or the PoP verifier key", async () => {
    const { client, logger } = rig();
    const record = testRecord();
    await hello(client);
    await client.request({ t: "write_record", record });
    await client.request({ t: "write_record", record: testRecord({ triadId: "x" }) });
    await client.request({ t: "verify", stationNonce: nonce(5) });
    await client.request({ t: "lock" });
    await client.request({ t: "write_record", record });
    const h = await hello(client);
    await client.request({ t: "unlock", signature: signAuth("unlock", chip.chipId, h.challenge, OTHER_SEED) });
    const h2 = await hello(client);
    await client.request({ t: "factory_reset", signature: signAuth("factory_reset", chip.chipId, h2.challenge) });
    await client.link.write(Uint8Array.of(1, 2, 3, 0));
    const text = logger.text();
    expect(logger.entries.length).toBeGreaterThan(5);
    expect(text).not.toContain(TEST_SECRET);
    expect(text).not.toContain(toHex(record.pop.key));
    expect(text).not.toContain(toHex(TEST_POP));
    expect(text).toContain("bad_signature");
  });

  it("refuses chip info that hello could not carry (config.invalid)", () => {
    const [link] = MemorySerialLink.pair();
    for (const bad of [{ chipId: "XYZ" }, { wifiMac: "02:aa:bb:cc:dd:01" }, { model: "" }]) {
      expect(() =>
        createFactoryResponder({
          link,
          store: new MemoryFlashStore(),
          chip: { ...chip, ...bad },
          random: new SeededRandom(1),
        }),
      ).toThrowError(expect.objectContaining({ code: "config.invalid" }));
    }
  });

  it("works on a FactoryCredentialStore passed in, and a new responder sees what the old one wrote", async () => {
    const flash = new MemoryFlashStore();
    const first = rig({ store: await FactoryCredentialStore.open(flash) });
    expectType(await first.client.request({ t: "write_record", record: testRecord() }), "written");
    expectType(await first.client.request({ t: "lock" }), "ok");
    await first.close();
    const second = rig({}, flash);
    expect(await hello(second.client)).toMatchObject({ state: "locked", triadId: "triad-1" });
  });
});

// Minimal CBOR for hand-made bodies (definite lengths; text and byte strings, maps of them).
function head(major: number, length: number): number[] {
  if (length < 24) return [(major << 5) | length];
  if (length < 256) return [(major << 5) | 24, length];
  return [(major << 5) | 25, length >> 8, length & 0xff];
}
function cborText(text: string): Uint8Array {
  const b = utf8(text);
  return Uint8Array.from([...head(3, b.length), ...b]);
}
function cborBytes(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from([...head(2, bytes.length), ...bytes]);
}
function cborMap(entries: [string, Uint8Array][]): Uint8Array {
  return Uint8Array.from([...head(5, entries.length), ...entries.flatMap(([k, v]) => [...cborText(k), ...v])]);
}
