import { readFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  type BleFactoryService,
  type CliIo,
  CryptoRandom,
  createAir,
  createBleFactoryService,
  FactoryCredentialStore,
  MemoryFlashStore,
} from "@triadkit/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { FakeDevice } from "../burn/__tests__/fake-device.js";
import { type BurnHarness, burnHarness, ORDER_ID, plug, TAG } from "../burn/__tests__/harness.js";
import { acquireFixtureLock, fixtureLockPathFor } from "../burn/fixture-lock.js";
import { main } from "../cli/main.js";
import { buildLabel } from "../labels/index.js";
import { alibabaOrder, knownSecret } from "../ledger/__tests__/fixtures.js";
import { WEB_MESSAGES, type WebMessageKey, type WebMessageParams, webMessage } from "./messages.js";
import { createStationWeb, type StationWeb, type StationWebOptions } from "./server.js";

let h: BurnHarness | undefined;
let web: StationWeb | undefined;
afterEach(async () => {
  await web?.close();
  web = undefined;
  await h?.close();
  h = undefined;
});

const FIXTURES = join(import.meta.dirname, "../import/__fixtures__");

async function setup(boards: number, scan = {}, more: Partial<StationWebOptions> = {}) {
  h = await burnHarness(boards + 2);
  const devices = Array.from(
    { length: boards },
    (_, i) => new FakeDevice({ chipId: `c0ffee${String(i).padStart(4, "0")}` }),
  );
  web = createStationWeb({
    station: h.station,
    operator: "tester",
    ctx: h.ctx,
    fixtures: devices.map((d, i) => ({ name: `F${i + 1}`, open: async () => plug(d) })),
    timeoutMs: 150,
    pollMs: 10,
    exportsDir: join(h.dir, "exports"),
    uploadDir: join(h.dir, "upload"),
    random: new CryptoRandom(),
    scan,
    lockOwner: "test",
    ...more,
  });
  return { h, web, devices };
}

/** Every response body the tests saw, to prove no secret is among them. */
const bodies: string[] = [];
async function call(method: "GET" | "POST", url: string, payload?: unknown, headers: Record<string, string> = {}) {
  const res = await (web as StationWeb).app.inject({
    method,
    url,
    headers,
    ...(payload === undefined ? {} : { payload: payload as string }),
  });
  bodies.push(res.body);
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are JSON of any shape; the assertions check them
  return { status: res.statusCode, json: () => JSON.parse(res.body) as Record<string, any>, body: res.body };
}

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
}

describe("station web API", () => {
  it("serves the pages without a build step", async () => {
    await setup(0);
    const page = await call("GET", "/");
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="/app.js">');
    for (const f of ["/app.js", "/pages.js", "/i18n.js", "/style.css"]) expect((await call("GET", f)).status).toBe(200);
    expect((await call("GET", "/../package.json")).status).toBe(404);
  });

  it("burns every fixture of a work order; tiles PASS, counters and yield; no secret or PoP in any response", async () => {
    const { h } = await setup(2);
    expect((await call("POST", "/api/burn/start", { workOrder: "nope" })).json().error.code).toBe(
      "ledger.unknown_work_order",
    );
    const started = await call("POST", "/api/burn/start", { workOrder: ORDER_ID });
    expect(started.json()).toEqual({
      ok: true,
      workOrderId: ORDER_ID,
      messageKey: "burn.started",
      params: { workOrderId: ORDER_ID },
      message: `burning work order ${ORDER_ID}`,
    });
    const again = await call("POST", "/api/burn/start", { workOrder: ORDER_ID });
    expect([again.status, again.json().error.code]).toEqual([409, "web.burn_running"]);
    await until(() => (web as StationWeb).supervisor.counters().passed === 2);
    const state = (await call("GET", "/api/state")).json();
    expect(state.tiles.map((t: { fixture: string; state: string }) => [t.fixture, t.state])).toEqual([
      ["F1", "pass"],
      ["F2", "pass"],
    ]);
    expect(state.counters).toMatchObject({ passed: 2, failed: 0, perHour: 2, yield: 1 });
    expect(state.workOrderId).toBe(ORDER_ID);
    expect((await call("POST", "/api/burn/stop")).json()).toMatchObject({ ok: true, messageKey: "burn.stopped" });
    expect((await call("GET", "/api/state")).json().workOrderId).toBeNull();

    for (const s of ["available", "verified", "quarantined", "void"]) await call("GET", `/api/triads?state=${s}`);
    const orders = (await call("GET", "/api/orders")).json();
    expect(orders.orders[0].counts).toMatchObject({ verified: 2, available: 2 });
    const exp = await call("POST", "/api/exports/burns", { workOrder: ORDER_ID });
    expect(exp.json()).toMatchObject({
      ok: true,
      kind: "burns",
      rows: 2,
      messageKey: "export.written",
      params: { rows: 2, kind: "burns", file: exp.json().file },
    });
    expect(exp.json().message).toBe(`exported 2 row(s) of burns: ${exp.json().file}`);
    const file = await call("GET", `/api/exports/files/${exp.json().file}`);
    expect(file.status).toBe(200);
    expect(file.body).toContain("c0ffee0000");
    expect((await call("GET", "/api/exports/files/..%2Fstation.db")).status).toBe(400);
    const verified0 = (await call("POST", "/api/audit/verify")).json();
    expect(verified0).toMatchObject({
      ok: true,
      messageKey: "audit.ok",
      params: { entries: verified0.result.entries },
    });
    expect(verified0.message).toMatch(/^audit trail OK: \d+ entries, \d+ checkpoints, head counter \d+$/);
    await call("GET", "/api/shelf");

    const verified = await h.station.ledger.listTriads({ states: ["verified"] });
    const secrets = [0, 1, 2, 3].map((i) => knownSecret(TAG, i));
    const pops: string[] = [];
    for (const t of verified) {
      const link = await h.station.ledger.deviceLink(t.id);
      const pop = h.station.keyring.openPop(t.id, link?.sealedPop as Uint8Array);
      pops.push(Buffer.from(pop).toString("hex"), Buffer.from(pop).toString("base64"));
    }
    expect(pops).toHaveLength(4);
    const all = bodies.join("\n").toLowerCase();
    for (const s of [...secrets, ...pops])
      expect(all.includes(s.toLowerCase()), "a secret or PoP was sent").toBe(false);
    expect(all).not.toContain("sealedsecret");
  });

  it("streams a snapshot on connect, then tile events (server-sent events)", async () => {
    await setup(1);
    const w = web as StationWeb;
    await w.app.listen({ port: 0, host: "127.0.0.1" });
    const port = (w.app.server.address() as { port: number }).port;
    let text = "";
    const req = request({ host: "127.0.0.1", port, path: "/api/events" });
    const headers = await new Promise<Record<string, unknown>>((resolve) => {
      req.on("response", (res) => {
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        resolve(res.headers);
      });
      req.end();
    });
    expect(headers["content-type"]).toContain("text/event-stream");
    await until(() => text.includes("event: snapshot"));
    expect(text).toMatch(/event: snapshot\ndata: \{"tiles":\[\{"fixture":"F1","state":"idle"\}\]/);
    await call("POST", "/api/burn/start", { workOrder: ORDER_ID });
    await until(() => text.includes('"state":"pass"'));
    expect(text).toMatch(/event: tile\ndata: .*"state":"burning"/);
    expect(text).toMatch(/event: tile\ndata: .*"state":"pass"/);
    expect(text).toMatch(/event: counters\ndata: .*"passed":1/);
    req.destroy();
  });

  it("dispatches scans: IMEI and shelf code looked up, label to scan-back, BLE MAC to its handler or not available", async () => {
    await setup(0);
    const scan = async (text: string) => (await call("POST", "/api/scan", { text })).json();
    expect((await scan("AA:BB:CC:DD:EE:01")).answer).toMatchObject({
      kind: "mac",
      ok: false,
      code: "web.not_available",
      messageKey: "scan.bleNotAvailable",
      message: "BLE burning is not available: serve has no --air or --ble-adapter",
    });
    expect((await scan("TK-LABEL|a1B|dev_1")).answer).toMatchObject({
      kind: "label",
      ok: false,
      code: "label.bad_payload",
    });
    expect((await scan("860000000000001")).answer).toMatchObject({
      kind: "imei",
      ok: false,
      messageKey: "scan.imeiUnknown",
      params: { imei: "860000000000001" },
      message: "no device with IMEI 860000000000001 in the ledger",
    });
    expect((await call("POST", "/api/scan", { text: "  " })).json().error.code).toBe("web.bad_request");
    await web?.close();
    const seen: string[] = [];
    await setup(0, {
      bleMac: async (mac: string) => {
        seen.push(`ble ${mac}`);
        return { kind: "mac", ok: true, message: "burning" };
      },
      label: async (text: string) => {
        seen.push(`label ${text}`);
        return { kind: "label", ok: true, message: "matches" };
      },
    });
    expect((await scan("aa-bb-cc-dd-ee-01")).answer.ok).toBe(true);
    expect((await scan("LABEL-1")).answer.ok).toBe(true);
    expect(seen).toEqual(["ble aabbccddee01", "label LABEL-1"]);
  });

  it("imports an uploaded sheet, and shows a rejected one's issues inline", async () => {
    const { h } = await setup(0);
    await h.station.ledger.addWorkOrder(alibabaOrder("WO-A"), h.station.actor("tester"));
    const upload = (file: string, name: string, order: string) =>
      call("POST", "/api/import", readFileSync(join(FIXTURES, file)) as unknown as string, {
        "content-type": "application/octet-stream",
        "x-file-name": encodeURIComponent(name),
        "x-work-order": order,
      });
    const ok = await upload("alibaba-iconv-gbk.csv", "批次.csv", "WO-A");
    expect(ok.json()).toMatchObject({
      ok: true,
      workOrder: "WO-A",
      imported: 2,
      workOrderTotal: 2,
      messageKey: "import.done",
      params: { workOrder: "WO-A", imported: 2, workOrderTotal: 2 },
      message: "imported 2 triads into WO-A (2 on the work order)",
    });
    const bad = await upload("genie-damaged.xlsx", "genie.xlsx", ORDER_ID);
    expect(bad.status).toBe(422);
    const j = bad.json();
    expect(j.error.code).toBe("import.rejected");
    expect(j.issues.length).toBeGreaterThan(0);
    expect(j.issues[0]).toMatchObject({ code: expect.stringMatching(/^import\./) });
    expect(j.report).toMatch(/^import-report-WO-B1-.*\.csv$/);
    expect(j).toMatchObject({
      messageKey: "import.rejected",
      params: { file: "genie.xlsx", problems: j.problems, report: j.report },
    });
    expect(j.message).toContain(`Report: ${j.report}`);
    expect((await call("GET", `/api/exports/files/${j.report}`)).status).toBe(200);
    expect((await upload("alibaba-iconv-gbk.csv", "../x.csv", "WO-A")).json().error.code).toBe("web.bad_request");
    const all = bodies.join("\n");
    for (const s of ["QjQDfDGNfQhzBylLdrZmP7n9oEmldTQx", "49Z1s0jfwvhKLAPfxDaEHitKziUxp7YQ"])
      expect(all).not.toContain(s);
  });

  it("lists quarantined triads with their reason; release and void are recorded decisions", async () => {
    const { h } = await setup(0);
    const actor = h.station.actor("tester");
    const [a, b] = [await h.station.ledger.reserve(ORDER_ID, actor), await h.station.ledger.reserve(ORDER_ID, actor)];
    for (const t of [a, b])
      await h.station.ledger.transition(t.id, { to: "quarantined", actor, reason: "label smudged" });
    const q = (await call("GET", "/api/triads?state=quarantined")).json();
    expect(q.triads.map((t: { reason: string }) => t.reason)).toEqual(["label smudged", "label smudged"]);
    expect((await call("POST", `/api/triads/${a.id}/release`, { reason: "" })).json().error.code).toBe(
      "web.bad_request",
    );
    const released = (await call("POST", `/api/triads/${a.id}/release`, { reason: "checked blank" })).json();
    expect(released).toMatchObject({
      triad: { state: "available" },
      messageKey: "triad.released",
      params: { identity: released.triad.identity, state: "available" },
    });
    expect((await call("POST", `/api/triads/${b.id}/void`, { reason: "destroyed" })).json()).toMatchObject({
      triad: { state: "void" },
      messageKey: "triad.voided",
      params: { state: "void" },
    });
    expect((await call("POST", "/api/scrap", { chipId: "abcd", reason: "x" })).json().error.code).toBe(
      "station.unknown_device",
    );
  });
});

describe("shelf page", () => {
  it("lists stores and shelf devices with their status; a scanned device code shows its store and status", async () => {
    const { h } = await setup(0);
    const rows = ["8F6A77C73E", "8F6A77C73F"].map((deviceCode, i) => ({
      row: i + 2,
      brand: "Acme",
      storeId: 184454101,
      deviceCode,
    }));
    expect((await h.station.ledger.importShelfDevices(rows, { via: "line" }, h.station.actor("tester"))).ok).toBe(true);
    const shelf = (await call("GET", "/api/shelf")).json();
    expect(shelf.stores).toEqual([expect.objectContaining({ brand: "Acme", storeId: 184454101 })]);
    expect(shelf.devices.map((d: { deviceCode: string; status: string }) => [d.deviceCode, d.status])).toEqual([
      ["8F6A77C73E", "pending_activation"],
      ["8F6A77C73F", "pending_activation"],
    ]);
    expect((await call("GET", "/api/shelf?status=activated")).json().devices).toEqual([]);
    expect((await call("GET", "/api/shelf?status=nope")).json().error.code).toBe("web.bad_request");
    const r = (await call("POST", "/api/scan", { text: "8F6A77C73F" })).json().answer;
    expect(r).toMatchObject({
      kind: "shelf",
      ok: true,
      details: { storeId: 184454101, status: "pending_activation" },
      messageKey: "scan.shelf",
      message: "8F6A77C73F: store 184454101, pending_activation",
    });
  });
});

describe("scanning an IMEI", () => {
  it("finds the burnt device whose modem reported it", async () => {
    const { devices } = await setup(1);
    const imei = "869012345678903";
    // The board's modem reports an IMEI in its hello (the device link keeps it).
    devices[0]?.behave((req, d) => {
      if (req.t !== "hello") return undefined;
      const hello = d.standard(req);
      return hello.t === "hello" ? { ...hello, modem: { imei, iccid: "89860321234567890122" } } : hello;
    });
    await call("POST", "/api/burn/start", { workOrder: ORDER_ID });
    await until(() => (web as StationWeb).supervisor.counters().passed === 1);
    const r = (await call("POST", "/api/scan", { text: imei })).json().answer;
    expect(r).toMatchObject({
      kind: "imei",
      ok: true,
      details: { chipId: "c0ffee0000", state: "verified" },
      messageKey: "scan.imei",
      params: { imei, chipId: "c0ffee0000", state: "verified" },
    });
  });
});

describe("labels and BLE from the burn page", () => {
  it("a label scanned back is checked against the board that passed on its fixture; reprints go to the printer", async () => {
    const received: Buffer[] = [];
    const printer = createServer((sock) => sock.on("data", (d) => received.push(d)));
    await new Promise<void>((r) => printer.listen(0, "127.0.0.1", r));
    const port = (printer.address() as { port: number }).port;
    try {
      const { h } = await setup(1, {}, { printer: { host: "127.0.0.1", port } });
      await call("POST", "/api/burn/start", { workOrder: ORDER_ID });
      await until(() => (web as StationWeb).supervisor.counters().passed === 1);
      const chipId = "c0ffee0000";
      const label = await buildLabel(h.station.ledger, h.station.keyring, { chipId }, "device");
      const ok = (await call("POST", "/api/scan", { text: label.payload })).json().answer;
      expect(ok).toMatchObject({
        kind: "label",
        ok: true,
        details: { fixture: "F1", chipId },
        messageKey: "scan.deviceLabel",
        params: { fixture: "F1", chipId },
      });
      expect(ok.message).toMatch(/^device label matches chip c0ffee0000 on F1 \(.+\)$/);
      const bad = (await call("POST", "/api/scan", { text: "triadkit://label?v=1&k=d" })).json().answer;
      expect(bad).toMatchObject({ kind: "label", ok: false, code: expect.stringMatching(/^label\./) });

      const first = (await call("POST", "/api/labels/print", { chipId })).json();
      expect(first).toMatchObject({ ok: true, action: "label.print", prints: 1, messageKey: "label.printed" });
      const again = (await call("POST", "/api/labels/print", { chipId })).json();
      expect(again.error.code).toBe("label.already_printed");
      const reprint = (await call("POST", "/api/labels/print", { chipId, reason: "label torn" })).json();
      expect(reprint).toMatchObject({
        ok: true,
        action: "label.reprint",
        prints: 2,
        messageKey: "label.reprinted",
        params: { chipId, prints: 2 },
      });
      await until(() => Buffer.concat(received).toString("latin1").split("^XA").length > 2);
      expect(Buffer.concat(received).toString("latin1")).toContain("^XA");
      // The payload (with the PoP) went to the printer, never into a response.
      expect(bodies.join("\n")).not.toContain(label.payload);

      const scrapped = (await call("POST", "/api/scrap", { chipId, reason: "cracked case" })).json();
      expect(scrapped).toMatchObject({
        ok: true,
        messageKey: "chip.scrapped",
        params: { chipId, identity: scrapped.triad.identity, state: scrapped.triad.state },
      });
      expect(scrapped.message).toBe(
        `chip ${chipId} scrapped; triad ${scrapped.triad.identity}: ${scrapped.triad.state}`,
      );
    } finally {
      printer.close();
    }
  });

  it("label printing without a printer is not available", async () => {
    await setup(0);
    const r = (await call("POST", "/api/labels/print", { chipId: "c0ffee0000" })).json();
    expect(r.error.code).toBe("web.not_available");
  });

  it("a scanned BLE MAC burns that board over the BLE channel for the running work order", async () => {
    const air = createAir();
    const credentials = new FactoryCredentialStore(new MemoryFlashStore());
    const service: BleFactoryService = createBleFactoryService({
      peripheral: air.peripheral({ address: "0a1b2c3d4e01", rssi: -45 }),
      store: credentials,
      chip: {
        chipId: "c0ffeeb1e0",
        wifiMac: "0a1b2c3d4eff",
        bleMac: "0a1b2c3d4e01",
        model: "TK-SPK-1",
        firmware: "1.4.0",
      },
      random: new CryptoRandom(),
    });
    await service.start();
    try {
      await setup(0, {}, { openCentral: async () => ({ central: air.central(), close: async () => {} }) });
      const before = (await call("POST", "/api/scan", { text: "0A:1B:2C:3D:4E:01" })).json();
      expect(before.error.code).toBe("web.bad_request");
      await call("POST", "/api/burn/start", { workOrder: ORDER_ID });
      const r = (await call("POST", "/api/scan", { text: "0A:1B:2C:3D:4E:01" })).json().answer;
      expect(r).toMatchObject({
        kind: "mac",
        ok: true,
        details: { mac: "0a1b2c3d4e01", chipId: "c0ffeeb1e0" },
        messageKey: "scan.blePass",
        params: { mac: "0a1b2c3d4e01", chipId: "c0ffeeb1e0" },
      });
      const state = (await call("GET", "/api/state")).json();
      expect(state.tiles).toContainEqual(expect.objectContaining({ fixture: "ble:0a1b2c3d4e01", state: "pass" }));
      expect(state.counters.passed).toBe(1);
    } finally {
      await service.stop();
    }
  });
});

describe("keyed answers", () => {
  it("every answer seen so far names a key of WEB_MESSAGES, and its English message is that template filled", () => {
    const seen = new Set<string>();
    for (const body of bodies) {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        continue; // a page or a downloaded file
      }
      for (const m of [json, json["answer"]] as {
        messageKey?: string;
        params?: WebMessageParams;
        message?: string;
      }[]) {
        if (m?.messageKey === undefined) continue;
        expect(Object.keys(WEB_MESSAGES)).toContain(m.messageKey);
        expect(webMessage(m.messageKey as WebMessageKey, m.params ?? {}).message).toBe(m.message);
        seen.add(m.messageKey);
      }
    }
    // The tests above drove most of them (the rest need a carton label, a failed BLE burn or a broken chain).
    expect(seen.size).toBeGreaterThanOrEqual(15);
  });
});

describe("serve", () => {
  function captureIo() {
    const out: string[] = [];
    const err: string[] = [];
    let stop: (s: NodeJS.Signals) => void = () => {};
    const signal = new Promise<NodeJS.Signals>((r) => {
      stop = r;
    });
    const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), shutdownSignal: () => signal };
    return { io, out, err, stop: () => stop("SIGTERM") };
  }

  it("holds the fixtures while it runs: the CLI's burn is refused naming the server; SIGTERM releases, exit 0", async () => {
    h = await burnHarness(1);
    await h.station.close();
    const db = h.dbPath;
    const server = captureIo();
    const serving = main(
      ["node", "triadkit-station", "serve", "--port", "0", "--db", db, "--operator", "t"],
      server.io,
    );
    await until(() => server.out.some((l) => l.startsWith("READY ")));
    expect(server.out[0]).toMatch(/^READY http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${server.out[0]?.slice(6)}/api/state`);
    expect(((await res.json()) as { ok: boolean }).ok).toBe(true);

    const burn = captureIo();
    const code = await main(
      ["node", "triadkit-station", "burn", "--port", "/dev/null", "--work-order", ORDER_ID, "--db", db],
      burn.io,
    );
    expect(code).toBe(1);
    expect(burn.err.join("\n")).toMatch(/fixtures are owned by pid \d+ .*\(triadkit-station serve \(web UI\), since/);
    expect(burn.err.join("\n")).toContain("station.fixture_locked");

    server.stop();
    expect(await serving).toBe(0);
    acquireFixtureLock(fixtureLockPathFor(db), "test").release();
    h = await burnHarnessReopen(h);
  });

  it("usage errors exit 2", async () => {
    const io = captureIo();
    expect(await main(["node", "triadkit-station", "serve", "--port", "70000"], io.io)).toBe(2);
    expect(io.err.join("\n")).toContain("--port must be 0–65535");
    const radio = captureIo();
    const args = ["node", "triadkit-station", "serve", "--air", "air://127.0.0.1:1", "--ble-adapter", "noble"];
    expect(await main(args, radio.io)).toBe(2);
    expect(radio.err.join("\n")).toContain("--air <url> goes with --ble-adapter air");
    const bad = captureIo();
    expect(await main(["node", "triadkit-station", "serve", "--ble-adapter", "bluetooth"], bad.io)).toBe(2);
    expect(bad.err.join("\n")).toContain("--ble-adapter must be air, noble or node-ble");
  });
});

/** The harness's station was closed for `serve`; open it again so afterEach can close it. */
async function burnHarnessReopen(harness: BurnHarness): Promise<BurnHarness> {
  const { openStation } = await import("../ledger/open-station.js");
  harness.station = await openStation({ dbPath: harness.dbPath, operator: "tester" });
  return harness;
}
