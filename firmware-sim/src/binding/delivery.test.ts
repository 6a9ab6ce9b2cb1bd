import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ManualClock } from "@triadkit/sdk";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fleet, heartbeat, PK, rig, START_MS, simOf, who } from "./__tests__/fixtures.js";
import { type AlertMessage, alertMessage, alertTopic, WebhookSender } from "./delivery.js";
import type { BindingAlert } from "./types.js";

interface Hit {
  readonly method: string | undefined;
  readonly type: string | undefined;
  readonly body: Record<string, unknown>;
}

let server: Server;
let url: string;
let hits: Hit[];
/** Status codes to answer, in order (then 200); `0` never answers. */
let statuses: number[];

beforeEach(async () => {
  hits = [];
  statuses = [];
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = "";
    req.on("data", (d: Buffer) => {
      text += d.toString();
    });
    req.on("end", () => {
      hits.push({ method: req.method, type: req.headers["content-type"], body: JSON.parse(text) });
      const status = statuses.shift() ?? 200;
      if (status === 0) return; // hang
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/binding`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const alert: BindingAlert = {
  id: 7,
  productKey: PK,
  deviceName: "dev1",
  state: "mismatch",
  imei: "490154203237518",
  iccid: "89860621330066521767",
  imsi: "460060086257148",
  reason: "test",
  source: "identity",
  firstSeenMs: START_MS,
  lastSeenMs: START_MS,
  count: 1,
};

function sender(options: { attempts?: number; retryDelayMs?: number; timeoutMs?: number } = {}) {
  const clock = new ManualClock({ wallStartMs: START_MS });
  const warnings: Record<string, unknown>[] = [];
  const logger = { debug() {}, info() {}, warn: (o: Record<string, unknown>) => warnings.push(o), error() {} };
  return { clock, warnings, webhook: new WebhookSender({ url, ...options }, clock, logger) };
}

describe("alert messages", () => {
  it("topic per device and a JSON body with ISO times", () => {
    expect(alertTopic({ productKey: PK, deviceName: "dev1" })).toBe(`/triadkit/binding/alerts/${PK}/dev1`);
    const m = alertMessage(alert) as Extract<AlertMessage, { type: "alert" }>;
    expect(m).toMatchObject({ type: "alert", id: 7, firstSeen: "2023-11-14T22:13:20.000Z" });
  });
});

describe("WebhookSender", () => {
  it("POSTs the alert as JSON", async () => {
    const { webhook } = sender();
    webhook.send(alertMessage(alert));
    await webhook.settled();
    expect(hits).toEqual([
      { method: "POST", type: "application/json", body: expect.objectContaining({ type: "alert", id: 7 }) },
    ]);
  });

  it("retries 5xx with a delay on the injected clock, then succeeds", async () => {
    statuses = [503, 500];
    const { webhook, clock, warnings } = sender({ retryDelayMs: 1000 });
    webhook.send(alertMessage(alert));
    await vi.waitFor(() => expect(clock.pending()).toBe(1));
    expect(hits).toHaveLength(1);
    clock.advance(999);
    await new Promise((r) => setTimeout(r, 50));
    expect(hits).toHaveLength(1);
    clock.advance(1);
    await vi.waitFor(() => expect(hits).toHaveLength(2));
    await vi.waitFor(() => expect(clock.pending()).toBe(1));
    clock.advance(2000); // doubled
    await webhook.settled();
    expect(hits).toHaveLength(3);
    expect(warnings).toEqual([]);
  });

  it("gives up after the bounded attempts and logs binding.webhook_failed (never throws)", async () => {
    statuses = [500, 500, 500, 500];
    const { webhook, clock, warnings } = sender({ attempts: 2, retryDelayMs: 10 });
    webhook.send(alertMessage(alert));
    await vi.waitFor(() => expect(clock.pending()).toBe(1));
    clock.advance(10);
    await webhook.settled();
    expect(hits).toHaveLength(2);
    expect(warnings).toMatchObject([{ code: "binding.webhook_failed", why: "HTTP 500", deviceName: "dev1" }]);
  });

  it("does not retry a 4xx other than 429", async () => {
    statuses = [404];
    const { webhook, warnings } = sender();
    webhook.send(alertMessage(alert));
    await webhook.settled();
    expect(hits).toHaveLength(1);
    expect(warnings).toMatchObject([{ code: "binding.webhook_failed", why: "HTTP 404" }]);
  });

  it("times out a server that never answers", async () => {
    statuses = [0];
    const { webhook, warnings } = sender({ attempts: 1, timeoutMs: 100 });
    webhook.send(alertMessage(alert));
    await webhook.settled();
    expect(warnings).toMatchObject([{ code: "binding.webhook_failed", why: "timed out" }]);
  });

  it("logs an unreachable URL", async () => {
    const { clock, warnings } = sender();
    const nowhere = new WebhookSender({ url: "http://127.0.0.1:1/", attempts: 1 }, clock, {
      debug() {},
      info() {},
      warn: (o) => warnings.push(o),
      error() {},
    });
    nowhere.send(alertMessage(alert));
    await nowhere.settled();
    expect(warnings[0]).toMatchObject({ code: "binding.webhook_failed" });
  });

  it("close() stops pending retries", async () => {
    statuses = [500];
    const { webhook, clock } = sender({ retryDelayMs: 60_000 });
    webhook.send(alertMessage(alert));
    await vi.waitFor(() => expect(clock.pending()).toBe(1));
    await webhook.close();
    expect(hits).toHaveLength(1);
  });
});

describe("the monitor's webhook", () => {
  it("POSTs alerts and recoveries", async () => {
    const [dev] = fleet(1, 3);
    if (dev === undefined) throw new Error("fleet");
    const r = rig({ webhookUrl: url });
    try {
      r.monitor.handleBindingEvent(who(dev), heartbeat(simOf(dev), 1)); // unregistered
      r.monitor.importExpected(`imei,iccid,imsi\n${dev.imei},${dev.iccid},${dev.imsi}`);
      r.monitor.handleBindingEvent(who(dev), heartbeat(simOf(dev), 2)); // bound: recovered
      await r.monitor.settled();
      expect(hits.map((h) => [h.body["type"], h.body["state"] ?? h.body["previousState"]])).toEqual([
        ["alert", "unregistered"],
        ["recovered", "unregistered"],
      ]);
    } finally {
      await r.monitor.close();
    }
  });
});
