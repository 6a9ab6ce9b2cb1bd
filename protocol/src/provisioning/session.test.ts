import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ErrorCode, TriadkitError } from "../errors.js";
import { expectTriadkitError } from "../testing.js";
import { fromHex, toHex } from "../util/bytes.js";
import { byteMutation, decodesOrCodedError, mutate, range, scripted, seededRandom } from "./__tests__/helpers.js";
import { decodeCborMap, encodeCbor } from "./cbor.js";
import { encodeProvMessage } from "./messages.js";
import { derivePopKey, derivePopVerifier, formatPop } from "./pop.js";
import {
  checkNegotiatedVersion,
  chooseVersion,
  confirmTag,
  createClientSession,
  createDeviceSession,
  decodeHello,
  decodeWelcome,
  deriveSessionKeys,
  encodeHello,
  encodeWelcome,
  sealRecord,
  transcriptBytes,
  transcriptHashOf,
  x25519PublicKey,
  x25519Shared,
} from "./session.js";

const POP = range(0x00, 16);
const SALT = range(0xa0, 16);
const VERIFIER = derivePopVerifier(POP, SALT);
const CLIENT_PRIV = range(0x40, 32);
const CLIENT_NONCE = range(0x60, 16);
const DEVICE_PRIV = range(0x80, 32);
const DEVICE_NONCE = range(0xc0, 16);

/** The worked vector of docs/provisioning.md. */
const V = {
  hello:
    "a461746568656c6c6f6876657273696f6e73810169636c69656e74507562582079a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a6b636c69656e744e6f6e636550606162636465666768696a6b6c6d6e6f",
  welcome:
    "a761746777656c636f6d656776657273696f6e016876657273696f6e738101696465766963655075625820493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d6b6465766963654e6f6e636550c0c1c2c3c4c5c6c7c8c9cacbcccdcecf6473616c7450a0a1a2a3a4a5a6a7a8a9aaabacadaeaf67636f6e6669726d5820cf18018eb4376b36dfbf8761dfd45fd287c571493a8074e9825ca2487982bdce",
  clientPub: "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a",
  devicePub: "493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d",
  shared: "dcd77236231add34de0561c47859a65d304f2a8550e8df98df053cf5dfabea0b",
  popKey: "6c456526f6a0eaac5082a6f4148c2cdddde48da70453cedfcd387c1b5dd2b98e",
  transcript:
    "8a6d74726961646b69742d70726f76018101810101582079a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a50606162636465666768696a6b6c6d6e6f5820493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d50c0c1c2c3c4c5c6c7c8c9cacbcccdcecf50a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
  transcriptHash: "6e4a93277f5b28c9a3a503457d9f07655c69cd014e4d78e8d0ff0e2186722b35",
  c2s: "d59237fb9654149ec88d2d1e43c958db357ac64f23e9a9b98a31a4319a4963c0",
  s2c: "c0c4c3dd3d64335cc05bdba65ac0c19ad844eaea109b223c2d2127c9c1078a5e",
  confirmDev: "13b5b25af14bdfd232cbd3191b178ba033b170fd98fcdbfa206139dbb5175f0e",
  confirmCli: "2d771dc84c688d000d2c476b9b6fea9ae28623bbcda0984f27ccf5766e68e43b",
  confirm: "cf18018eb4376b36dfbf8761dfd45fd287c571493a8074e9825ca2487982bdce",
  proof: "7949f411ecd8c70788bb6bfe5e5ae5e8fc77cc49069f6e36566fd6ba2e5f7187",
  request: "a261746a6765745f73746174757362696401",
  record0:
    "010100000000000000007949f411ecd8c70788bb6bfe5e5ae5e8fc77cc49069f6e36566fd6ba2e5f7187b380684e098ae21159dff5e0bb62b5cf2e98f8071506b91afc3963bc79a118023749",
  response: "a3617466737461747573626964016573746174656469646c65",
  deviceRecord0:
    "010200000000000000000c29a8a77226ced3631bcace71057bb38215e25d6e7a57f29c8f93e5ca8044d369c31efbdc75e72722",
};

function vectorPair() {
  const client = createClientSession({ pop: POP, random: scripted(CLIENT_PRIV, CLIENT_NONCE) });
  const device = createDeviceSession({ verifier: VERIFIER, random: scripted(DEVICE_PRIV, DEVICE_NONCE) });
  return { client, device };
}

/** A client and device with a finished handshake (deterministic, so records are identical across calls). */
function readyPair(seed = 1) {
  const client = createClientSession({ pop: POP, random: seededRandom(seed) });
  const device = createDeviceSession({ verifier: VERIFIER, random: seededRandom(seed + 1000) });
  const welcome = device.receiveHello(client.hello);
  client.receiveWelcome(welcome);
  return { client, device, welcome };
}

const LOW_ORDER_POINTS = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

describe("secure session v1: worked vector", () => {
  it("reproduces the pinned Hello, Welcome, transcript, keys and first records", () => {
    const { client, device } = vectorPair();
    expect(toHex(client.hello)).toBe(V.hello);
    const welcome = device.receiveHello(client.hello);
    expect(toHex(welcome)).toBe(V.welcome);
    client.receiveWelcome(welcome);
    expect(toHex(client.transcriptHash as Uint8Array)).toBe(V.transcriptHash);
    expect(toHex(device.transcriptHash as Uint8Array)).toBe(V.transcriptHash);

    // The same values from the exported building blocks.
    expect(toHex(x25519PublicKey(CLIENT_PRIV))).toBe(V.clientPub);
    expect(toHex(x25519PublicKey(DEVICE_PRIV))).toBe(V.devicePub);
    const shared = x25519Shared(CLIENT_PRIV, fromHex(V.devicePub));
    expect(toHex(shared)).toBe(V.shared);
    expect(toHex(x25519Shared(DEVICE_PRIV, fromHex(V.clientPub)))).toBe(V.shared);
    expect(toHex(derivePopKey(POP, SALT))).toBe(V.popKey);
    const t = {
      offeredVersions: [1],
      deviceVersions: [1],
      chosenVersion: 1,
      clientPub: fromHex(V.clientPub),
      clientNonce: CLIENT_NONCE,
      devicePub: fromHex(V.devicePub),
      deviceNonce: DEVICE_NONCE,
      salt: SALT,
    };
    expect(toHex(transcriptBytes(t))).toBe(V.transcript);
    expect(toHex(transcriptHashOf(t))).toBe(V.transcriptHash);
    // The hand-rolled canonical CBOR agrees with cbor-x.
    expect(
      toHex(
        encodeCbor(["triadkit-prov", 1, [1], [1], 1, t.clientPub, t.clientNonce, t.devicePub, t.deviceNonce, SALT]),
      ),
    ).toBe(V.transcript);
    const keys = deriveSessionKeys(shared, fromHex(V.popKey), fromHex(V.transcriptHash));
    expect(toHex(keys.c2s)).toBe(V.c2s);
    expect(toHex(keys.s2c)).toBe(V.s2c);
    expect(toHex(keys.confirmDev)).toBe(V.confirmDev);
    expect(toHex(keys.confirmCli)).toBe(V.confirmCli);
    expect(toHex(confirmTag(keys.confirmDev, fromHex(V.transcriptHash)))).toBe(V.confirm);
    expect(toHex(confirmTag(keys.confirmCli, fromHex(V.transcriptHash)))).toBe(V.proof);

    const request = encodeProvMessage({ type: "get_status", id: 1 });
    expect(toHex(request)).toBe(V.request);
    const record0 = client.seal(request);
    expect(toHex(record0)).toBe(V.record0);
    expect(device.state).toBe("awaiting_proof");
    expect(toHex(device.open(record0))).toBe(V.request);
    expect(device.state).toBe("ready");
    const response = encodeProvMessage({ type: "status", id: 1, state: "idle" });
    expect(toHex(response)).toBe(V.response);
    const deviceRecord0 = device.seal(response);
    expect(toHex(deviceRecord0)).toBe(V.deviceRecord0);
    expect(toHex(client.open(deviceRecord0))).toBe(V.response);
  });

  it("handshake state machine: one round trip to ready", () => {
    const { client, device } = vectorPair();
    expect([client.state, device.state]).toEqual(["awaiting_welcome", "awaiting_hello"]);
    expect(client.transcriptHash).toBeUndefined();
    client.receiveWelcome(device.receiveHello(client.hello));
    expect([client.state, device.state]).toEqual(["ready", "awaiting_proof"]);
    expect([client.version, device.version]).toEqual([1, 1]);
    device.open(client.seal(new Uint8Array(0)));
    expect(device.state).toBe("ready");
  });
});

describe("secure session v1: PoP", () => {
  it("a client with the wrong PoP stops at the Welcome (prov.pop_mismatch) and leaks nothing", () => {
    const wrong = range(0x01, 16);
    const client = createClientSession({ pop: wrong, random: seededRandom(3) });
    const device = createDeviceSession({ verifier: VERIFIER, random: seededRandom(4) });
    const welcome = device.receiveHello(client.hello);
    const err = expectTriadkitError(() => client.receiveWelcome(welcome), "prov.pop_mismatch");
    expect(client.state).toBe("failed");
    const dump = JSON.stringify(err) + err.message;
    for (const secret of [toHex(POP), toHex(wrong), formatPop(POP), formatPop(wrong), toHex(VERIFIER.key)]) {
      expect(dump).not.toContain(secret);
    }
    expectTriadkitError(() => client.seal(new Uint8Array(1)), "prov.session_state");
  });

  it("a device without the right verifier is detected by the client (prov.pop_mismatch)", () => {
    const client = createClientSession({ pop: POP, random: seededRandom(5) });
    const rogue = createDeviceSession({ verifier: derivePopVerifier(range(0x50, 16), SALT), random: seededRandom(6) });
    expectTriadkitError(() => client.receiveWelcome(rogue.receiveHello(client.hello)), "prov.pop_mismatch");
    // Same PoP but another salt than the one the key was derived with: also refused.
    const client2 = createClientSession({ pop: POP, random: seededRandom(5) });
    const forged = createDeviceSession({
      verifier: { v: 1, salt: range(0x10, 16), key: VERIFIER.key },
      random: seededRandom(6),
    });
    expectTriadkitError(() => client2.receiveWelcome(forged.receiveHello(client2.hello)), "prov.pop_mismatch");
  });

  it("a rogue client that ignores the mismatch is refused by the device on its first record", () => {
    for (const mode of ["wrong-pop", "random-proof", "no-proof-counter-1"] as const) {
      const priv = range(0x33, 32);
      const device = createDeviceSession({ verifier: VERIFIER, random: seededRandom(7) });
      const hello = encodeHello({ versions: [1], clientPub: x25519PublicKey(priv), clientNonce: range(9, 16) });
      const w = decodeWelcome(device.receiveHello(hello));
      const th = transcriptHashOf({
        offeredVersions: [1],
        deviceVersions: w.versions,
        chosenVersion: w.version,
        clientPub: x25519PublicKey(priv),
        clientNonce: range(9, 16),
        devicePub: w.devicePub,
        deviceNonce: w.deviceNonce,
        salt: w.salt,
      });
      const keys = deriveSessionKeys(x25519Shared(priv, w.devicePub), derivePopKey(range(0x70, 16), w.salt), th);
      const payload = encodeProvMessage({ type: "get_device_info", id: 1 });
      if (mode === "wrong-pop") {
        const record = sealRecord(keys.c2s, 1, "c2s", 0, payload, confirmTag(keys.confirmCli, th));
        expectTriadkitError(() => device.open(record), "prov.pop_mismatch");
      } else if (mode === "random-proof") {
        const record = sealRecord(keys.c2s, 1, "c2s", 0, payload, range(0x99, 32));
        expectTriadkitError(() => device.open(record), "prov.pop_mismatch");
      } else {
        // Skipping record 0 (and its proof) does not help: record 1 fails authentication with the wrong key.
        const record = sealRecord(keys.c2s, 1, "c2s", 1, payload);
        expectTriadkitError(() => device.open(record), "prov.decrypt_failed");
      }
      expect(device.state).toBe("failed");
      expectTriadkitError(() => device.open(new Uint8Array(64)), "prov.session_state");
    }
  });

  it("the device cannot send before the client proved the PoP", () => {
    const client = createClientSession({ pop: POP, random: seededRandom(8) });
    const device = createDeviceSession({ verifier: VERIFIER, random: seededRandom(9) });
    device.receiveHello(client.hello);
    expectTriadkitError(() => device.seal(new Uint8Array(1)), "prov.session_state");
    expect(device.state).toBe("awaiting_proof");
  });
});

function openExpect(pairFactory: () => { receive: (r: Uint8Array) => unknown }, record: Uint8Array, code: ErrorCode) {
  const { receive } = pairFactory();
  expectTriadkitError(() => receive(record), code);
}

describe("secure session v1: records", () => {
  it("a tampered byte in any position of the client's first record is refused", () => {
    const request = encodeProvMessage({ type: "get_device_info", id: 7 });
    const record0 = readyPair().client.seal(request);
    expect(record0.length).toBe(10 + 32 + request.length + 16);
    for (let i = 0; i < record0.length; i++) {
      for (const x of [0x01, 0x80, 0xff]) {
        const tampered = record0.slice();
        tampered[i] = (tampered[i] as number) ^ x;
        // Bytes 10..41 are the PoP proof: a change there reads as a failed proof.
        const code = i >= 10 && i < 42 ? "prov.pop_mismatch" : "prov.decrypt_failed";
        openExpect(() => ({ receive: (r) => readyPair().device.open(r) }), tampered, code);
      }
    }
  });

  it("a tampered byte in any position of later records (both directions) is prov.decrypt_failed", () => {
    const setup = () => {
      const { client, device } = readyPair();
      device.open(client.seal(new Uint8Array([1])));
      return { client, device };
    };
    const { client, device } = setup();
    const c1 = client.seal(new Uint8Array([1, 2, 3, 4, 5]));
    const d0 = device.seal(new Uint8Array([6, 7, 8]));
    for (const [record, side] of [
      [c1, "device"],
      [d0, "client"],
    ] as const) {
      for (let i = 0; i < record.length; i++) {
        for (const x of [0x01, 0xff]) {
          const tampered = record.slice();
          tampered[i] = (tampered[i] as number) ^ x;
          openExpect(
            () => {
              const p = setup();
              p.client.seal(new Uint8Array([1, 2, 3, 4, 5]));
              return { receive: (r) => (side === "device" ? p.device.open(r) : p.client.open(r)) };
            },
            tampered,
            "prov.decrypt_failed",
          );
        }
      }
    }
  });

  it("replay and reorder are prov.replay, in both directions", () => {
    let { client, device } = readyPair();
    const c0 = client.seal(new Uint8Array([0]));
    device.open(c0);
    expectTriadkitError(() => device.open(c0), "prov.replay");
    expect(device.state).toBe("failed");

    ({ client, device } = readyPair());
    const r0 = client.seal(new Uint8Array([0]));
    const r1 = client.seal(new Uint8Array([1]));
    const r2 = client.seal(new Uint8Array([2]));
    device.open(r0);
    expectTriadkitError(() => device.open(r2), "prov.replay");

    ({ client, device } = readyPair());
    client.seal(new Uint8Array([0]));
    const early = client.seal(new Uint8Array([1]));
    expectTriadkitError(() => device.open(early), "prov.replay"); // record 1 before record 0

    ({ client, device } = readyPair());
    device.open(client.seal(new Uint8Array([0])));
    const d0 = device.seal(new Uint8Array([9]));
    const d1 = device.seal(new Uint8Array([9]));
    client.open(d0);
    client.open(d1);
    expectTriadkitError(() => client.open(d0), "prov.replay");
    expect(toHex(r1)).not.toBe(toHex(r2));
  });

  it("reflected records and records of another session fail authentication", () => {
    const { client, device } = readyPair();
    const c0 = client.seal(new Uint8Array([1]));
    device.open(c0);
    const d0 = device.seal(new Uint8Array([2]));
    expectTriadkitError(() => device.open(d0), "prov.decrypt_failed"); // reflected to its sender
    const other = readyPair(2);
    expectTriadkitError(() => other.client.open(d0), "prov.decrypt_failed");
    expectTriadkitError(() => other.device.open(c0), "prov.pop_mismatch"); // record 0 of another session
  });

  it("nonces never repeat: 10k records of one session, both directions", () => {
    const { client, device } = readyPair();
    const nonces = new Set<string>();
    const payload = new Uint8Array([0xa5, 0x5a]);
    const ciphertexts = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      for (const [from, to] of [
        [client, device],
        [device, client],
      ] as const) {
        const record = from.seal(payload);
        // The nonce is 00 00 00 dir ‖ counter: taken from the header the receiver authenticates with.
        nonces.add(`${record[1]}:${toHex(record.subarray(2, 10))}`);
        ciphertexts.add(toHex(record.subarray(record.length - 18)));
        expect(to.open(record)).toEqual(payload);
      }
    }
    expect(nonces.size).toBe(10_000);
    expect(ciphertexts.size).toBe(10_000);
  });

  it("refuses short, oversized and post-exhaustion records", () => {
    const { client, device } = readyPair();
    expectTriadkitError(() => client.seal(new Uint8Array(4097)), "prov.frame_too_large");
    expectTriadkitError(() => device.open(new Uint8Array(25)), "prov.bad_message");
    const p = readyPair();
    expectTriadkitError(() => p.device.open(new Uint8Array(40)), "prov.decrypt_failed"); // counter 0 needs the proof
    const limited = createClientSession({ pop: POP, random: seededRandom(1), maxRecords: 2 });
    const d = createDeviceSession({ verifier: VERIFIER, random: seededRandom(1001) });
    limited.receiveWelcome(d.receiveHello(limited.hello));
    limited.seal(new Uint8Array(1));
    limited.seal(new Uint8Array(1));
    expectTriadkitError(() => limited.seal(new Uint8Array(1)), "prov.session_state");
  });

  it("open decodes or throws a prov.* error on mutated and random records (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.uint8Array({ maxLength: 40 }), byteMutation).map(([pt, m]) => {
            const record = readyPair().client.seal(pt);
            return mutate(record, m);
          }),
          fc.uint8Array({ maxLength: 120 }),
        ),
        (record) => {
          const { device } = readyPair();
          decodesOrCodedError(() => device.open(record));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("secure session v1: versions", () => {
  function tamperedWelcome(edit: (w: Record<string, unknown>) => void): ErrorCode | "ok" {
    const { client, device } = vectorPair();
    const obj = decodeCborMap(device.receiveHello(client.hello), "Welcome");
    edit(obj);
    try {
      client.receiveWelcome(encodeCbor(obj));
      return "ok";
    } catch (err) {
      if (err instanceof TriadkitError) return err.code;
      throw err;
    }
  }

  it("the client refuses a version it did not offer or an inconsistent choice (prov.downgrade)", () => {
    expect(tamperedWelcome(() => {})).toBe("ok");
    expect(tamperedWelcome((w) => (w["version"] = 0))).toBe("prov.downgrade");
    expect(tamperedWelcome((w) => (w["version"] = 2))).toBe("prov.downgrade");
    expect(tamperedWelcome((w) => (w["versions"] = [2]))).toBe("prov.downgrade");
    // Editing the device's list without changing the choice breaks the transcript: the confirm fails.
    expect(tamperedWelcome((w) => (w["versions"] = [1, 7]))).toBe("prov.pop_mismatch");
  });

  it("checkNegotiatedVersion requires the highest common version", () => {
    checkNegotiatedVersion([1, 2, 3], [1, 2, 3], 3);
    checkNegotiatedVersion([1, 2, 3], [1, 2], 2);
    checkNegotiatedVersion([3, 1], [1], 1);
    expectTriadkitError(() => checkNegotiatedVersion([1, 2, 3], [1, 2, 3], 2), "prov.downgrade");
    expectTriadkitError(() => checkNegotiatedVersion([1, 2], [1, 2, 3], 1), "prov.downgrade");
    expectTriadkitError(() => checkNegotiatedVersion([1, 2], [1, 2, 3], 3), "prov.downgrade");
    expectTriadkitError(() => checkNegotiatedVersion([1, 2], [1], 2), "prov.downgrade");
    expect(chooseVersion([1, 2, 3], [2, 3, 4])).toBe(3);
    expectTriadkitError(() => chooseVersion([2, 3], [1]), "prov.version_unsupported");
  });

  it("a device refuses a Hello without a common version, and sessions refuse unimplemented versions", () => {
    const device = createDeviceSession({ verifier: VERIFIER, random: seededRandom(1) });
    const hello = encodeHello({ versions: [2, 3], clientPub: range(9, 32), clientNonce: range(1, 16) });
    expectTriadkitError(() => device.receiveHello(hello), "prov.version_unsupported");
    expect(device.state).toBe("failed");
    expectTriadkitError(
      () => createClientSession({ pop: POP, random: seededRandom(1), offeredVersions: [1, 2] }),
      "prov.version_unsupported",
    );
    expectTriadkitError(
      () => createClientSession({ pop: POP, random: seededRandom(1), offeredVersions: [] }),
      "config.invalid",
    );
    expectTriadkitError(
      () => createDeviceSession({ verifier: VERIFIER, random: seededRandom(1), supportedVersions: [2] }),
      "prov.version_unsupported",
    );
  });
});

describe("secure session v1: keys and misuse", () => {
  it("refuses low-order public keys on both sides", () => {
    for (const hex of LOW_ORDER_POINTS) {
      const point = fromHex(hex);
      expectTriadkitError(() => x25519Shared(DEVICE_PRIV, point), "prov.bad_message");
      const device = createDeviceSession({ verifier: VERIFIER, random: seededRandom(1) });
      const hello = encodeHello({ versions: [1], clientPub: point, clientNonce: CLIENT_NONCE });
      expectTriadkitError(() => device.receiveHello(hello), "prov.bad_message");
      expect(device.state).toBe("failed");

      const { client, device: d } = vectorPair();
      const w = decodeWelcome(d.receiveHello(client.hello));
      expectTriadkitError(() => client.receiveWelcome(encodeWelcome({ ...w, devicePub: point })), "prov.bad_message");
      expect(client.state).toBe("failed");
    }
  });

  it("checks its inputs and its state", () => {
    expectTriadkitError(() => createClientSession({ pop: range(0, 15), random: seededRandom(1) }), "prov.bad_pop");
    expectTriadkitError(() => createClientSession({ pop: POP, random: () => new Uint8Array(5) }), "config.invalid");
    expectTriadkitError(
      () => createDeviceSession({ verifier: { ...VERIFIER, key: range(0, 16) }, random: seededRandom(1) }),
      "config.invalid",
    );
    const { client, device } = vectorPair();
    expectTriadkitError(() => client.seal(new Uint8Array(1)), "prov.session_state");
    expectTriadkitError(() => client.open(new Uint8Array(30)), "prov.session_state");
    expect(client.state).toBe("awaiting_welcome");
    const welcome = device.receiveHello(client.hello);
    expectTriadkitError(() => device.receiveHello(client.hello), "prov.session_state");
    client.receiveWelcome(welcome);
    expectTriadkitError(() => client.receiveWelcome(welcome), "prov.session_state");
    expect(client.state).toBe("ready");
    const broken = createDeviceSession({ verifier: VERIFIER, random: seededRandom(1) });
    expectTriadkitError(() => broken.receiveHello(new Uint8Array([0xa0])), "prov.bad_message");
    expect(broken.state).toBe("failed");
  });

  it("Hello and Welcome decoders return a value or a prov.* error on mutated and random input (property)", () => {
    const { client, device } = vectorPair();
    const welcome = device.receiveHello(client.hello);
    for (const [valid, decode, encode] of [
      [client.hello, decodeHello, encodeHello],
      [welcome, decodeWelcome, encodeWelcome],
    ] as const) {
      fc.assert(
        fc.property(
          fc.oneof(
            byteMutation.map((m) => mutate(valid, m)),
            fc.uint8Array({ maxLength: 200 }),
          ),
          (bytes) => {
            const out = decodesOrCodedError(() => decode(bytes));
            if (!(out instanceof TriadkitError)) {
              expect(decode((encode as (v: typeof out) => Uint8Array)(out))).toEqual(out);
            }
          },
        ),
        { numRuns: 300 },
      );
    }
    expect(decodeHello(client.hello)).toEqual({
      versions: [1],
      clientPub: fromHex(V.clientPub),
      clientNonce: CLIENT_NONCE,
    });
  });
});
