/**
 * The emulator's TLS listener with a throwaway CA made by `openssl`: a client that trusts the CA connects
 * (securemode=2), a client that trusts only an unrelated CA fails its own certificate check and never logs in.
 */
import { PlatformEmulator, SqliteDeviceRegistry } from "@triadkit/firmware-sim";
import { signConnect } from "@triadkit/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTlsFixture, type TlsFixture } from "../helpers/tls-fixture.js";
import { ClientPool, collect, newTriad } from "./emulator-harness.js";

const registry = new SqliteDeviceRegistry();
const device = newTriad();
const pool = new ClientPool();
let fixture: TlsFixture;
let emulator: PlatformEmulator;

beforeAll(async () => {
  registry.add(device);
  fixture = await createTlsFixture();
  emulator = await PlatformEmulator.start({
    registry,
    tls: { certPem: fixture.certPem, keyPem: fixture.keyPem },
  });
});
afterEach(() => pool.endAll());
afterAll(async () => {
  await emulator?.close();
  registry.close();
  await fixture?.cleanup();
});

describe("TLS listener", () => {
  it("listens on its own free port beside plain TCP", () => {
    expect(emulator.tlsUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(emulator.tlsPort).not.toBe(emulator.port);
    expect(emulator.tlsPort).not.toBe(1883);
  });

  it("a client that trusts the test CA logs in over TLS (by IP and by name)", async () => {
    const creds = signConnect({ triad: device, secureMode: 2, timestampMs: Date.now() });
    await pool.connect(emulator.tlsUrl as string, creds, { ca: fixture.caPem, rejectUnauthorized: true });
    await expect.poll(() => emulator.onlineDevices()).toMatchObject([{ transport: "tls", clientId: creds.clientId }]);
    await pool.endAll();
    const byName = `mqtts://localhost:${emulator.tlsPort}`;
    await pool.connect(byName, signConnect({ triad: device, style: "c" }), { ca: fixture.caPem });
  });

  it("a client that trusts another CA refuses the server certificate", async () => {
    const online = collect(emulator, "online");
    const err = await pool
      .connect(emulator.tlsUrl as string, signConnect({ triad: device, style: "c" }), {
        ca: fixture.wrongCaPem,
        rejectUnauthorized: true,
      })
      .then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
    expect(err?.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT_IN_CHAIN/);
    expect(online).toEqual([]);
  });

  it("a wrong secret over TLS is still CONNACK 5", async () => {
    const creds = signConnect({ triad: { ...device, deviceSecret: "x".repeat(32) }, style: "c" });
    expect(await pool.refusal(emulator.tlsUrl as string, creds, { ca: fixture.caPem })).toBe(5);
  });
});
