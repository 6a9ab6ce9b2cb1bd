/**
 * The station web UI's server (fastify): static pages from `provisioning-station/web/` (plain HTML, CSS and ES
 * modules, no build step), a JSON API over the opened station, and live burn tiles over server-sent events. It is
 * given the station already open, the burn context and the fixtures; the caller (`serve`) holds the fixtures lock
 * for the server's whole life. No response carries a device secret or PoP (records go through ./views).
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BleCentral, Random } from "@triadkit/sdk";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import type { BurnContext } from "../burn/device-steps.js";
import type { PrinterAddress } from "../labels/index.js";
import type { Station } from "../ledger/open-station.js";
import { bleBurnHandler } from "./ble-burn.js";
import { BurnSupervisor, type SupervisorFixture } from "./burn-supervisor.js";
import { type LabelActionDeps, labelScanHandler } from "./label-actions.js";
import { registerBurnRoutes } from "./routes-burn.js";
import { registerPoolRoutes } from "./routes-pool.js";
import { registerRecordRoutes } from "./routes-records.js";
import type { ScanHandlers } from "./scan.js";
import { SseHub } from "./sse-hub.js";
import { errorView } from "./views.js";

export const DEFAULT_WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../web");

/** The static files the pages need, by URL path. */
const STATIC_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/pages.js": { file: "pages.js", type: "text/javascript; charset=utf-8" },
  "/i18n.js": { file: "i18n.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

export interface StationWebOptions {
  readonly station: Station;
  /** The operator the server runs for (audit actor). */
  readonly operator: string;
  readonly ctx: BurnContext;
  readonly fixtures: readonly SupervisorFixture[];
  readonly timeoutMs: number;
  readonly pollMs: number;
  /** Where exports are written (and downloaded from). */
  readonly exportsDir: string;
  /** Where an uploaded sheet waits while it is imported (then shredded). */
  readonly uploadDir: string;
  readonly random: Random;
  /** Scan handlers that replace the built-in ones (label scan-back; BLE burn when `openCentral` is given). */
  readonly scan: ScanHandlers;
  /** The BLE radio for a scanned BLE MAC (`serve --air`); without it a MAC scan is `web.not_available`. */
  readonly openCentral?: () => Promise<{ readonly central: BleCentral; close(): Promise<void> }>;
  /** The label printer (`serve --printer`); without it printing is `web.not_available`. */
  readonly printer?: PrinterAddress;
  /** Which program holds the fixtures lock (this server), shown on the pages. */
  readonly lockOwner: string;
  readonly webRoot?: string;
  /** Largest upload accepted, bytes; default 256 MiB. */
  readonly uploadLimit?: number;
}

export interface StationWeb {
  readonly app: FastifyInstance;
  readonly supervisor: BurnSupervisor;
  readonly hub: SseHub;
  /** Stops burning, ends event streams, closes the server. */
  close(): Promise<void>;
}

/** What the routes share. */
export interface RouteDeps extends StationWebOptions {
  readonly supervisor: BurnSupervisor;
  readonly hub: SseHub;
  readonly labels: LabelActionDeps;
}

export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const { status, body } = errorView(err);
  return reply.code(status).send(body);
}

export function createStationWeb(options: StationWebOptions): StationWeb {
  let hub: SseHub | undefined;
  const ctx: BurnContext = {
    ...options.ctx,
    alert: (code, message, context) => {
      options.ctx.alert(code, message, context);
      hub?.publish("alert", { code, message });
    },
  };
  const supervisor = new BurnSupervisor({
    ctx,
    fixtures: options.fixtures,
    timeoutMs: options.timeoutMs,
    pollMs: options.pollMs,
    onChange: (change) => hub?.publish(change.type, change),
  });
  hub = new SseHub({
    snapshot: () => ({
      tiles: supervisor.tiles(),
      counters: supervisor.counters(),
      workOrderId: supervisor.workOrderId(),
    }),
  });
  const app = Fastify({ logger: false, bodyLimit: options.uploadLimit ?? 256 * 1024 * 1024 });
  app.addContentTypeParser("application/octet-stream", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err, _req, reply) => {
    if ((err as { statusCode?: number }).statusCode === 413) {
      return reply
        .code(413)
        .send({ ok: false, error: { code: "web.bad_request", message: "the upload is too large" } });
    }
    return sendError(reply, err);
  });
  const webRoot = options.webRoot ?? DEFAULT_WEB_ROOT;
  for (const [path, f] of Object.entries(STATIC_FILES)) {
    app.get(path, async (_req, reply) => {
      const body = await readFile(join(webRoot, f.file));
      return reply.header("content-type", f.type).header("cache-control", "no-cache").send(body);
    });
  }
  const labels: LabelActionDeps = {
    ledger: options.station.ledger,
    keyring: options.station.keyring,
    actor: () => options.station.actor(options.operator),
    tiles: () => supervisor.tiles(),
  };
  const open = options.openCentral;
  const scan: ScanHandlers = {
    label: options.scan.label ?? labelScanHandler(labels),
    ...(options.scan.bleMac !== undefined
      ? { bleMac: options.scan.bleMac }
      : open === undefined
        ? {}
        : {
            bleMac: bleBurnHandler({
              ctx,
              workOrder: () => supervisor.workOrder(),
              openCentral: open,
              timeoutMs: options.timeoutMs,
              onStart: (fixture) => supervisor.markBurning(fixture),
              onOutcome: (o) => supervisor.outcome(o),
            }),
          }),
  };
  const deps: RouteDeps = { ...options, scan, ctx, supervisor, hub, labels };
  registerBurnRoutes(app, deps);
  registerPoolRoutes(app, deps);
  registerRecordRoutes(app, deps);
  const theHub = hub;
  return {
    app,
    supervisor,
    hub: theHub,
    async close() {
      await supervisor.stop();
      theHub.close();
      await app.close();
    },
  };
}
