/**
 * The work orders and pool page's API: work orders with their triads by state, triads of a state (the quarantine
 * list with reasons), a sheet upload imported all or nothing with the validation report inline, and the human
 * decisions on a quarantined triad (release, void). The upload is the raw file as the body
 * (`application/octet-stream`), its name in `x-file-name`: no multipart.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { TriadkitError } from "@triadkit/protocol";
import type { CliIo } from "@triadkit/sdk";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { defaultExportName } from "../cli/export-command.js";
import { rejectSheet } from "../cli/sheet-rejection.js";
import { TRIAD_STATES } from "../ledger/types.js";
import { importSheet, shredFile } from "../station-import.js";
import { parseBody } from "./body.js";
import { webMessage } from "./messages.js";
import { type RouteDeps, sendError } from "./server.js";
import { orderView, triadView } from "./views.js";

const FILE_NAME = /^[^/\\\0]{1,200}\.(csv|xlsx)$/i;
const decision = z.object({ reason: z.string().trim().min(1).max(500) });

export function registerPoolRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { station } = deps;
  const ledger = station.ledger;
  const actor = () => station.actor(deps.operator);

  app.get("/api/orders", async () => {
    const counts = await ledger.counts();
    const orders = await ledger.listWorkOrders();
    return {
      ok: true,
      total: counts.total,
      orders: orders.map((o) => ({ ...orderView(o), counts: counts.byWorkOrder[o.id] ?? null })),
    };
  });

  app.get("/api/triads", async (req, reply) => {
    try {
      const q = parseBody(
        z.object({
          state: z.enum(TRIAD_STATES),
          workOrder: z.string().min(1).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(200),
        }),
        req.query,
      );
      const triads = await ledger.listTriads({
        states: [q.state],
        limit: q.limit,
        ...(q.workOrder === undefined ? {} : { workOrderId: q.workOrder }),
      });
      const rows = await Promise.all(triads.map(async (t) => triadView(t, await ledger.deviceLink(t.id))));
      return { ok: true, triads: rows };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.post("/api/import", async (req, reply) => {
    try {
      const fileName = decodeURIComponent(String(req.headers["x-file-name"] ?? ""));
      const workOrderId = String(req.headers["x-work-order"] ?? "");
      if (!FILE_NAME.test(basename(fileName)) || basename(fileName) !== fileName) {
        throw new TriadkitError("web.bad_request", "x-file-name must be a .csv or .xlsx file name", { field: "file" });
      }
      if (workOrderId === "") throw new TriadkitError("web.bad_request", "choose a work order", { field: "workOrder" });
      const body = req.body;
      if (!Buffer.isBuffer(body) || body.length === 0) {
        throw new TriadkitError("web.bad_request", "the upload is empty", { field: "file" });
      }
      // One private folder per upload: two uploads of the same name never meet; the file keeps its name (audited).
      await mkdir(deps.uploadDir, { recursive: true, mode: 0o700 });
      const folder = await mkdtemp(join(deps.uploadDir, "u-"));
      const path = join(folder, fileName);
      await writeFile(path, body, { mode: 0o600 });
      try {
        const outcome = await importSheet(ledger, station.keyring, path, {
          workOrderId,
          actor: actor(),
          random: deps.random,
        });
        if (outcome.ok) {
          const facts = {
            workOrder: outcome.summary.workOrderId,
            imported: outcome.summary.imported,
            workOrderTotal: outcome.summary.workOrderTotal,
          };
          return {
            ok: true,
            ...facts,
            auditSeq: outcome.summary.auditSeq,
            file: outcome.file,
            ...webMessage("import.done", facts),
          };
        }
        await mkdir(deps.exportsDir, { recursive: true });
        const report = join(deps.exportsDir, defaultExportName("import-report", "csv", workOrderId));
        const lines: string[] = [];
        const io: CliIo = { out: (l) => lines.push(l), err: () => {}, shutdownSignal: () => new Promise(() => {}) };
        await rejectSheet(io, station, actor(), {
          reportPath: report,
          fileName: outcome.file.name,
          issues: outcome.issues,
          moreIssues: outcome.moreIssues,
          rowsRead: outcome.rowsRead,
          details: { workOrderId, fileName: outcome.file.name, sha256: outcome.file.sha256 },
          json: true,
        }).catch(() => undefined);
        const json = JSON.parse(lines.at(-1) ?? "{}") as Record<string, unknown>;
        return reply.code(422).send({
          ...json,
          report: basename(report),
          issues: (json["issues"] as unknown[]).slice(0, 500),
          ...webMessage("import.rejected", {
            file: outcome.file.name,
            problems: Number(json["problems"] ?? outcome.issues.length),
            rows: outcome.rowsRead,
            report: basename(report),
          }),
        });
      } finally {
        await shredFile(path, deps.random).catch(() => undefined);
        await rm(folder, { recursive: true, force: true });
      }
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.post("/api/triads/:id/release", async (req, reply) => {
    try {
      const id = (req.params as { id: string }).id;
      const { reason } = parseBody(decision, req.body);
      const link = await ledger.deviceLink(id);
      if (link !== undefined) {
        throw new TriadkitError(
          "ledger.bad_transition",
          `triad ${id} was linked to chip ${link.chipId}: it is never issued to another board; rework or scrap that board, or void the triad`,
          { triadId: id, chipId: link.chipId },
        );
      }
      const t = triadView(await ledger.release(id, { operator: deps.operator, reason }, actor()));
      return { ok: true, triad: t, ...webMessage("triad.released", { identity: t.identity, state: t.state }) };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.post("/api/triads/:id/void", async (req, reply) => {
    try {
      const id = (req.params as { id: string }).id;
      const { reason } = parseBody(decision, req.body);
      const t = triadView(
        await ledger.transition(id, {
          to: "void",
          actor: actor(),
          reason,
          humanDecision: { operator: deps.operator, reason },
        }),
      );
      return { ok: true, triad: t, ...webMessage("triad.voided", { identity: t.identity, state: t.state }) };
    } catch (err) {
      return sendError(reply, err);
    }
  });
}
