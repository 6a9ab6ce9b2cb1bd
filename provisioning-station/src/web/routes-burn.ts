/**
 * The burn page's API: state, the live event stream, start/stop a work order on every fixture, the scan field,
 * rework and scrap of a board by chip id.
 */
import { TriadkitError } from "@triadkit/protocol";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { scrapChip } from "../burn/rework.js";
import { outcomeJson } from "../cli/burn-command.js";
import { describeIdentity } from "../ledger/identity.js";
import { parseBody } from "./body.js";
import { printDeviceLabel } from "./label-actions.js";
import { webMessage } from "./messages.js";
import { answerScan } from "./scan.js";
import { type RouteDeps, sendError } from "./server.js";
import { orderView } from "./views.js";

const chipId = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[0-9a-f]{1,64}$/, "the chip id in hex");
const reason = z.string().trim().min(1).max(500);

export function registerBurnRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { station, supervisor } = deps;
  const actor = () => station.actor(deps.operator);

  app.get("/api/state", async () => ({
    ok: true,
    stationId: station.stationId,
    operator: deps.operator,
    lockOwner: deps.lockOwner,
    workOrders: (await station.ledger.listWorkOrders()).map(orderView),
    workOrderId: supervisor.workOrderId(),
    tiles: supervisor.tiles(),
    counters: supervisor.counters(),
  }));

  app.get("/api/events", (req, reply) => {
    reply.hijack();
    deps.hub.attach(reply.raw);
    req.raw.on("close", () => reply.raw.end());
  });

  app.post("/api/burn/start", async (req, reply) => {
    try {
      const { workOrder } = parseBody(z.object({ workOrder: z.string().min(1).max(64) }), req.body);
      const order = await station.ledger.getWorkOrder(workOrder);
      if (order === undefined) {
        throw new TriadkitError("ledger.unknown_work_order", `no work order ${workOrder}`, { workOrderId: workOrder });
      }
      await supervisor.start(order);
      return { ok: true, workOrderId: order.id, ...webMessage("burn.started", { workOrderId: order.id }) };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.post("/api/burn/stop", async () => {
    await supervisor.stop();
    return { ok: true, ...webMessage("burn.stopped", {}) };
  });

  app.post("/api/scan", async (req, reply) => {
    try {
      const { text } = parseBody(z.object({ text: z.string() }), req.body);
      return { ok: true, answer: await answerScan(station.ledger, deps.scan, text) };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.post("/api/rework", async (req, reply) => {
    try {
      const body = parseBody(
        z.object({ chipId, reason, fixture: z.string().min(1), mode: z.enum(["revoke", "reverify"]) }),
        req.body,
      );
      const outcome = await supervisor.rework(body.fixture, body);
      const ok = outcome.result === "pass";
      return {
        ok,
        outcome: outcomeJson(outcome),
        ...(ok ? webMessage("chip.reworked", { chipId: body.chipId, fixture: body.fixture, result: "PASS" }) : {}),
      };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.post("/api/labels/print", async (req, reply) => {
    try {
      const body = parseBody(z.object({ chipId, reason: z.string().max(200).optional() }), req.body);
      const r = await printDeviceLabel(deps.labels, deps.printer, body.chipId, body.reason);
      const facts = { chipId: r.chipId, identity: r.identity, prints: r.prints, destination: r.destination };
      return {
        ok: true,
        action: r.action,
        ...facts,
        auditSeq: r.auditSeq,
        ...webMessage(r.action === "label.reprint" ? "label.reprinted" : "label.printed", facts),
      };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.post("/api/scrap", async (req, reply) => {
    try {
      const body = parseBody(z.object({ chipId, reason }), req.body);
      const { triad, link } = await scrapChip(station.ledger, actor(), body.chipId, body.reason);
      const identity = describeIdentity(triad.identity);
      return {
        ok: true,
        chipId: body.chipId,
        triad: { id: triad.id, identity, state: triad.state },
        link: { status: link.status },
        ...webMessage("chip.scrapped", { chipId: body.chipId, identity, state: triad.state }),
      };
    } catch (err) {
      return sendError(reply, err);
    }
  });
}
