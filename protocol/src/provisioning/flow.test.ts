/**
 * A full provisioning exchange between the client and device state machines, in memory, counting round trips.
 * A round trip is one client flight (any number of frames written back to back) followed by one device flight.
 */
import { describe, expect, it } from "vitest";
import { constantTimeEqual } from "../util/bytes.js";
import { range, seededRandom } from "./__tests__/helpers.js";
import { decodeBindTokenReport, encodeBindTokenReport } from "./bind-token.js";
import {
  decodeProvRequest,
  decodeProvResponse,
  encodeProvMessage,
  type ProvRequest,
  type ProvResponse,
  type Status,
} from "./messages.js";
import { derivePopVerifier, encodeProvisioningQr, generatePop, parsePop, parseProvisioningQr } from "./pop.js";
import { createClientSession, createDeviceSession, type DeviceSession } from "./session.js";

/** ESP-IDF security 1 needs two round trips (Cmd0/Resp0, Cmd1/Resp1) before the first payload; sec2 too. */
const ESP_SEC1_SESSION_ROUND_TRIPS = 2;

/** A simulated device: the secure session plus a Wi-Fi model with one known network. */
class SimDevice {
  session: DeviceSession;
  private credentials: { ssid: string; password: string } | undefined;
  private wifi: Status["state"] = "idle";
  private reason: Status["reason"];
  private pendingConnect = false;
  bindToken: Uint8Array | undefined;
  readonly published: Uint8Array[] = [];

  constructor(
    verifier: ReturnType<typeof derivePopVerifier>,
    private readonly network: { ssid: string; password: string },
  ) {
    this.session = createDeviceSession({ verifier, random: seededRandom(99) });
  }

  /** One device flight: answer every frame of the client's flight, in order. */
  flight(frames: Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const frame of frames) {
      if (this.session.state === "awaiting_hello") {
        out.push(this.session.receiveHello(frame));
        continue;
      }
      const request = decodeProvRequest(this.session.open(frame));
      out.push(this.session.seal(encodeProvMessage(this.handle(request))));
    }
    // Between flights the radio works: a pending connection attempt completes (virtual time).
    if (this.pendingConnect) this.connect();
    return out;
  }

  private status(id: number): Status {
    if (this.wifi === "failed")
      return { type: "status", id, state: "failed", reason: this.reason ?? "timeout", attemptsLeft: 0 };
    if (this.wifi === "connected") return { type: "status", id, state: "connected", ip: "192.168.1.23" };
    return { type: "status", id, state: this.wifi };
  }

  private handle(request: ProvRequest): ProvResponse {
    switch (request.type) {
      case "bind_token":
        this.bindToken = request.token;
        return { type: "ok", id: request.id };
      case "set_credentials":
        if (this.wifi === "connecting") return { type: "error", id: request.id, code: "busy" };
        this.credentials = { ssid: request.ssid, password: request.password };
        return { type: "ok", id: request.id };
      case "apply":
        if (this.credentials === undefined) return { type: "error", id: request.id, code: "no_credentials" };
        this.wifi = "connecting";
        this.pendingConnect = true;
        return this.status(request.id);
      case "get_status":
        return this.status(request.id);
      case "reset":
        this.wifi = "idle";
        this.reason = undefined;
        this.credentials = undefined;
        return this.status(request.id);
      default:
        return { type: "error", id: request.id, code: "not_supported" };
    }
  }

  private connect(): void {
    this.pendingConnect = false;
    const c = this.credentials;
    if (c?.ssid !== this.network.ssid) {
      this.wifi = "failed";
      this.reason = "ap_not_found";
    } else if (c.password !== this.network.password) {
      this.wifi = "failed";
      this.reason = "auth_error";
    } else {
      this.wifi = "connected";
      // Online: report the bind token to the cloud on the awss topic.
      if (this.bindToken) this.published.push(encodeBindTokenReport({ id: "1", token: this.bindToken }));
    }
  }
}

/** Counts round trips between a client and a SimDevice. */
function link(device: SimDevice) {
  let roundTrips = 0;
  return {
    get roundTrips() {
      return roundTrips;
    },
    exchange(frames: Uint8Array[]): Uint8Array[] {
      roundTrips += 1;
      return device.flight(frames);
    },
  };
}

function setup() {
  const pop = generatePop(range(0x31, 16));
  const qr = encodeProvisioningQr({ productKey: "a1B2c3D4e5F", deviceName: "lamp-0001", pop, transports: ["ble"] });
  const verifier = derivePopVerifier(pop, range(0x77, 16)); // written at the factory; the device keeps no PoP
  const device = new SimDevice(verifier, { ssid: "HomeNet", password: "correct horse" });
  const scanned = parseProvisioningQr(qr); // the app scans the label
  const client = createClientSession({ pop: scanned.pop, random: seededRandom(7) });
  return { client, device, wire: link(device) };
}

describe("provisioning flow round trips", () => {
  it("session ready in 1 round trip (ESP sec1: 2), whole provisioning in 3", () => {
    const { client, device, wire } = setup();
    const [welcome] = wire.exchange([client.hello]);
    client.receiveWelcome(welcome as Uint8Array);
    expect(client.state).toBe("ready");
    expect(wire.roundTrips).toBe(1);
    expect(wire.roundTrips).toBeLessThan(ESP_SEC1_SESSION_ROUND_TRIPS);

    // Flight 2: bind token, credentials and apply, pipelined. The first record carries the PoP proof.
    const token = range(0xb0, 16);
    const replies = wire
      .exchange([
        client.seal(encodeProvMessage({ type: "bind_token", id: 1, token })),
        client.seal(encodeProvMessage({ type: "set_credentials", id: 2, ssid: "HomeNet", password: "correct horse" })),
        client.seal(encodeProvMessage({ type: "apply", id: 3 })),
      ])
      .map((r) => decodeProvResponse(client.open(r)));
    expect(device.session.state).toBe("ready");
    expect(replies).toEqual([
      { type: "ok", id: 1 },
      { type: "ok", id: 2 },
      { type: "status", id: 3, state: "connecting" },
    ]);

    // Flight 3: status.
    const [status] = wire.exchange([client.seal(encodeProvMessage({ type: "get_status", id: 4 }))]);
    expect(decodeProvResponse(client.open(status as Uint8Array))).toEqual({
      type: "status",
      id: 4,
      state: "connected",
      ip: "192.168.1.23",
    });
    expect(wire.roundTrips).toBe(3);

    // Out of band: the cloud sees the token the phone chose, so the phone knows this device came online.
    expect(device.published).toHaveLength(1);
    expect(constantTimeEqual(decodeBindTokenReport(device.published[0] as Uint8Array).token, token)).toBe(true);
  });

  it("sequential (non-pipelined) flow takes 5; a wrong password is retried in place without a new session", () => {
    const { client, device, wire } = setup();
    client.receiveWelcome(wire.exchange([client.hello])[0] as Uint8Array);
    let id = 0;
    const ask = (request: ProvRequest): ProvResponse => {
      const [reply] = wire.exchange([client.seal(encodeProvMessage(request))]);
      return decodeProvResponse(client.open(reply as Uint8Array));
    };
    expect(ask({ type: "set_credentials", id: ++id, ssid: "HomeNet", password: "wrong password" })).toMatchObject({
      type: "ok",
    });
    expect(ask({ type: "apply", id: ++id })).toMatchObject({ state: "connecting" });
    expect(ask({ type: "get_status", id: ++id })).toMatchObject({ state: "failed", reason: "auth_error" });
    expect(wire.roundTrips).toBe(4);
    // Retry in place: reset, new credentials, apply, status; same session, no reboot.
    expect(ask({ type: "reset", id: ++id })).toMatchObject({ state: "idle" });
    expect(ask({ type: "apply", id: ++id })).toMatchObject({ type: "error", code: "no_credentials" });
    ask({ type: "set_credentials", id: ++id, ssid: "HomeNet", password: "correct horse" });
    ask({ type: "apply", id: ++id });
    expect(ask({ type: "get_status", id: ++id })).toMatchObject({ state: "connected" });
    expect(wire.roundTrips).toBe(9);
    expect(device.session.state).toBe("ready");
  });

  it("a phone with another device's PoP stops after 1 round trip without sending credentials", () => {
    const { device, wire } = setup();
    const client = createClientSession({ pop: parsePop("TKP1-77777777777777777777777774"), random: seededRandom(8) });
    const [welcome] = wire.exchange([client.hello]);
    expect(() => client.receiveWelcome(welcome as Uint8Array)).toThrow(/pop_mismatch/);
    expect(wire.roundTrips).toBe(1);
    expect(device.session.state).toBe("awaiting_proof");
  });
});
