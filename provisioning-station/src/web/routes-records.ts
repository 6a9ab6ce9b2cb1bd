/**
 * The shelf, exports and audit pages' API: smart-shelf devices with their codes and activation status; the device
 * exports written (audited, with their checkpoint) into the exports folder and downloaded from there; the audit
 * chain verified.
 */
import { createReadStream } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { TriadkitError } from "@triadkit/protocol";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { defaultExportName } from "../cli/export-command.js";
import { DEVICE_EXPORT_KINDS, exportDevices } from "../exports/device-export.js";
import { SHELF_STATUSES } from "../ledger/shelf.js";
import { parseBody } from "./body.js";
import { webMessage } from "./messages.js";
import { type RouteDeps, sendError } from "./server.js";
import { shelfView } from "./views.js";

const EXPORT_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export function registerRecordRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { station } = deps;
  const ledger = station.ledger;

  app.get("/api/shelf", async (req, reply) => {
    try {
      const q = parseBody(
        z.object({
          status: z.enum(SHELF_STATUSES).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(500),
        }),
        req.query,
      );
      const devices = await ledger.listShelfDevices({
        limit: q.limit,
        ...(q.status === undefined ? {} : { status: [q.status] }),
      });
      return { ok: true, stores: await ledger.shelfStores(), devices: devices.map(shelfView) };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.get("/api/exports", async () => {
    await mkdir(deps.exportsDir, { recursive: true });
    const names = (await readdir(deps.exportsDir)).filter((n) => EXPORT_FILE.test(n)).sort();
    const files = await Promise.all(
      names.map(async (name) => ({ name, bytes: (await stat(join(deps.exportsDir, name))).size })),
    );
    return { ok: true, kinds: DEVICE_EXPORT_KINDS, files };
  });

  app.post("/api/exports/:kind", async (req, reply) => {
    try {
      const { kind } = parseBody(z.object({ kind: z.enum(DEVICE_EXPORT_KINDS) }), req.params);
      const body = parseBody(
        z.object({ workOrder: z.string().min(1).optional(), format: z.enum(["csv", "xlsx"]).default("csv") }),
        req.body,
      );
      await mkdir(deps.exportsDir, { recursive: true });
      const out = join(deps.exportsDir, defaultExportName(kind, body.format, body.workOrder));
      const result = await exportDevices(station, station.actor(deps.operator), {
        kind,
        target: { out, format: body.format, force: false },
        ...(body.workOrder === undefined ? {} : { workOrderId: body.workOrder }),
      });
      if (result.outcome !== "written" || result.export === undefined) {
        const code = result.outcome === "empty" ? "export.empty" : "export.rejected";
        return reply.code(422).send({
          ok: false,
          error: { code, message: `${kind}: ${result.outcome} (${result.problemCount} problem(s))` },
          problems: result.problems.slice(0, 100),
        });
      }
      const e = result.export;
      const file = e.file.split("/").at(-1) ?? e.file;
      return {
        ok: true,
        kind,
        file,
        rows: e.rows,
        sha256: e.sha256,
        auditSeq: e.auditSeq,
        sidecar: e.sidecar?.split("/").at(-1) ?? null,
        ...webMessage("export.written", { rows: e.rows, kind, file }),
      };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.get("/api/exports/files/:name", async (req, reply) => {
    const name = (req.params as { name: string }).name;
    if (!EXPORT_FILE.test(name)) {
      return sendError(reply, new TriadkitError("web.bad_request", "not an export file name", { field: "name" }));
    }
    const path = join(deps.exportsDir, name);
    try {
      await stat(path);
    } catch {
      return sendError(reply, new TriadkitError("web.bad_request", `no export ${name}`, { field: "name" }));
    }
    const type = name.endsWith(".json")
      ? "application/json"
      : name.endsWith(".csv")
        ? "text/csv"
        : "application/octet-stream";
    return reply
      .header("content-type", type)
      .header("content-disposition", `attachment; filename="${name}"`)
      .send(createReadStream(path));
  });

  app.post("/api/audit/verify", async () => {
    const r = await station.verifyAudit();
    const facts = { entries: r.entries, checkpoints: r.checkpoints, headSeq: r.headSeq ?? null };
    return {
      ok: r.ok,
      result: r,
      ...(r.ok ? webMessage("audit.ok", facts) : webMessage("audit.failed", { ...facts, problems: r.problems.length })),
    };
  });
}
