/**
 * `triadkit-station export imei|iccid|bindings|burns` against a ledger of devices burnt in process (boards running
 * the SDK's factory responder, some with a cellular modem): every export checked against the ledger (rows = the
 * devices the ledger says, identities equal), audited with a signed checkpoint (CSV sidecar, xlsx second sheet), the
 * bindings fed to the binding monitor (in process, and `triadkit-sim cloud --bindings`), templates (GBK, fixed
 * columns), bad and duplicate identifiers refused, left out or flagged, and no secret or PoP in any file produced.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { ed25519 } from "@noble/curves/ed25519.js";
import { BindingMonitor, BindingStore } from "@triadkit/firmware-sim";
import { fromHex } from "@triadkit/protocol";
import { encodeCheckpoint, openStation } from "@triadkit/provisioning-station";
import { ManualClock } from "@triadkit/sdk";
import Database from "better-sqlite3";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSim } from "../helpers/sim-cli.js";
import { type Board, ExportFloor, OPERATOR, ORDER_A, ORDER_B, simFor } from "./station-export-harness.js";

let floor: ExportFloor;
let boardsA: Board[];
/** What the ledger says about each linked device, read before the CLI runs. */
interface LedgerDevice {
  chipId: string;
  triadId: string;
  workOrderId: string;
  identity: string;
  state: string;
  linkStatus: string;
  fixture: string;
  recordHash: string;
  imei: string;
  iccid: string;
  imsi: string;
}
let ledgerDevices: LedgerDevice[];

const out = (name: string) => join(floor.dir, name);

/** RFC 4180 enough for these files (no quoted line breaks): rows of cells. */
function csvRows(text: string): string[][] {
  return text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .filter((l) => l !== "")
    .map((l) => l.split(",").map((c) => c.replace(/^"(.*)"$/, "$1").replace(/""/g, '"')));
}

/** The entries of a zip (an xlsx), inflated: enough of the format for what exceljs writes. */
function unzip(buf: Buffer): Map<string, Buffer> {
  const entries = new Map<string, Buffer>();
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extra = buf.readUInt16LE(p + 30);
    const comment = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString("utf8", p + 46, p + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    entries.set(name, method === 0 ? data : inflateRawSync(data));
    p += 46 + nameLen + extra + comment;
  }
  return entries;
}

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function contentDigest(rows: readonly (readonly string[])[]): string {
  return sha256(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
}

function expectCheckpointSigned(cp: {
  stationId: string;
  seq: number;
  headMac: string;
  time: string;
  signature: string;
  publicKey: string;
}): void {
  const signed = encodeCheckpoint({
    stationId: cp.stationId,
    seq: cp.seq,
    headMac: fromHex(cp.headMac),
    time: Date.parse(cp.time),
  });
  expect(ed25519.verify(fromHex(cp.signature), signed, fromHex(cp.publicKey))).toBe(true);
}

/** The audit entry at `seq`, read with the station's own API. */
async function auditEntry(
  seq: number,
): Promise<{ action: string; operator: string; details: Record<string, unknown> }> {
  const station = await floor.reopen();
  try {
    const [entry] = await station.ledger.auditEntries(station.stationId, seq - 1, 1);
    expect(entry?.seq).toBe(seq);
    return {
      action: entry?.action ?? "",
      operator: entry?.operator ?? "",
      details: JSON.parse(entry?.details ?? "{}") as Record<string, unknown>,
    };
  } finally {
    await floor.closeStation();
  }
}

const shipping = (d: LedgerDevice) => ["verified", "registered"].includes(d.state) && d.linkStatus === "active";

beforeAll(async () => {
  floor = await ExportFloor.create();
  await floor.order(ORDER_A, "a1ExpOrtA01", 10);
  await floor.order(ORDER_B, "a1ExpOrtB01", 4);
  boardsA = await floor.burn(ORDER_A, [
    simFor(0),
    simFor(1),
    simFor(2),
    simFor(3),
    undefined, // a WiFi-only board: no modem
    { imei: simFor(5).imei }, // a modem without a SIM
    simFor(6), // to be quarantined
    simFor(7), // to be scrapped
  ]);
  await floor.burn(ORDER_B, [simFor(10), simFor(11)]);
  const station = floor.station as NonNullable<typeof floor.station>;
  const actor = station.actor(OPERATOR);
  const linkOf = async (b: Board) => (await station.ledger.deviceLinksByChip(b.chipId)).at(-1);
  const q = await linkOf(boardsA[6] as Board);
  await station.ledger.transition(q?.triadId as string, {
    to: "quarantined",
    actor,
    reason: "label printed twice",
    expect: "verified",
  });
  const s = await linkOf(boardsA[7] as Board);
  await station.ledger.transition(s?.triadId as string, {
    to: "void",
    actor,
    reason: "cracked PCB",
    linkStatus: "scrapped",
  });
  ledgerDevices = (await floor.linked()).map(({ triad, link }) => ({
    chipId: link.chipId,
    triadId: triad.id,
    workOrderId: triad.workOrderId,
    identity:
      triad.identity.family === "alibaba" ? `alibaba:${triad.identity.productKey}/${triad.identity.deviceName}` : "",
    state: triad.state,
    linkStatus: link.status,
    fixture: link.fixture ?? "",
    recordHash: Buffer.from(link.recordHash).toString("hex"),
    imei: link.modem?.imei ?? "",
    iccid: link.modem?.iccid ?? "",
    imsi: link.modem?.imsi ?? "",
  }));
  expect(ledgerDevices).toHaveLength(10);
  expect(ledgerDevices.filter(shipping)).toHaveLength(8);
  await floor.collectSecrets();
  await floor.closeStation();
}, 60_000);

afterAll(async () => {
  await floor?.close();
});

describe("triadkit-station export", () => {
  it("imei: the IMEI library holds every shipping device's IMEI once, as the ledger has it, audited (CSV sidecar)", async () => {
    const file = out("imei.csv");
    const run = await floor.run(["export", "imei", "--out", file, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("ASSUMED format");
    expect(run.stderr).toContain("1 device(s) without an IMEI were left out");
    const rows = csvRows(readFileSync(file, "utf8"));
    expect(rows[0]).toEqual(["IMEI"]);
    const want = ledgerDevices.filter((d) => shipping(d) && d.imei !== "").map((d) => d.imei);
    expect(want).toHaveLength(7);
    expect(rows.slice(1).map((r) => r[0])).toEqual(want);
    // Not the quarantined board's, not the scrapped one's.
    for (const i of [6, 7]) expect(rows.flat()).not.toContain(simFor(i).imei);

    const result = run.json() as {
      rows: number;
      sha256: string;
      contentSha256: string;
      auditSeq: number;
      sidecar: string;
      skipped: number;
      checkpoint: Parameters<typeof expectCheckpointSigned>[0];
      template: { source: string; assumed: boolean };
    };
    expect(result).toMatchObject({ rows: 7, skipped: 1, template: { source: "default:imei.json", assumed: true } });
    expect(result.sha256).toBe(sha256(readFileSync(file)));
    expect(result.contentSha256).toBe(contentDigest(rows));
    const sidecar = JSON.parse(readFileSync(`${file}.checkpoint.json`, "utf8")) as typeof result & { export: string };
    expect(sidecar).toMatchObject({
      format: "triadkit-export-checkpoint",
      export: "imei.csv",
      kind: "imei",
      rows: 7,
      sha256: result.sha256,
      auditSeq: result.auditSeq,
    });
    expectCheckpointSigned(sidecar.checkpoint);
    expect(sidecar.checkpoint.seq).toBeGreaterThanOrEqual(result.auditSeq);
    const entry = await auditEntry(result.auditSeq);
    expect(entry.action).toBe("export");
    expect(entry.operator).toBe("export-clerk");
    expect(entry.details).toMatchObject({
      kind: "imei",
      rows: 7,
      sha256: result.sha256,
      contentSha256: result.contentSha256,
      file: "imei.csv",
      template: "default:imei.json",
      assumedTemplate: true,
    });
  });

  it("iccid: one work order's ICCIDs, normalised, the ICCID-less devices left out", async () => {
    const file = out("iccid-b.csv");
    const run = await floor.run(["export", "iccid", "--work-order", ORDER_B, "--out", file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^exported 2 iccid row\(s\) to .*iccid-b\.csv \(audit seq \d+; checkpoint .*\)$/);
    const rows = csvRows(readFileSync(file, "utf8"));
    expect(rows).toEqual([["ICCID"], [simFor(10).iccid], [simFor(11).iccid]]);
    const all = out("iccid.xlsx");
    expect((await floor.run(["export", "iccid", "--out", all])).code).toBe(0);
    const book = new ExcelJS.Workbook();
    await book.xlsx.readFile(all);
    const values = (book.getWorksheet("ICCID")?.getSheetValues() ?? []).slice(2).map((r) => (r as unknown[])[1]);
    expect(values).toEqual(ledgerDevices.filter((d) => shipping(d) && d.iccid !== "").map((d) => d.iccid));
    expect(values.every((v) => typeof v === "string")).toBe(true); // text cells: no spreadsheet damage
  });

  it("bindings: exactly the binding monitor's import format; the monitor then knows every pair", async () => {
    const file = out("bindings.csv");
    const run = await floor.run(["export", "bindings", "--out", file, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain("ASSUMED");
    expect(run.json()).toMatchObject({ rows: 6, skipped: 2, template: { assumed: false } });
    const want = ledgerDevices
      .filter((d) => shipping(d) && d.imei !== "" && d.iccid !== "" && d.imsi !== "")
      .map((d) => ({ imei: d.imei, iccid: d.iccid, imsi: d.imsi }));
    expect(want).toHaveLength(6);
    const text = readFileSync(file, "utf8");
    expect(text.split("\r\n")[0]).toBe("imei,iccid,imsi");

    // In process: the monitor's own loader.
    const clock = new ManualClock({ wallStartMs: Date.parse("2026-11-23T09:00:00Z") });
    const monitor = new BindingMonitor({ expectedCsv: text, silenceCheckMs: 0 }, { clock });
    try {
      expect(monitor.initialImport).toMatchObject({ added: 6, unchanged: 0, errors: [], warnings: [] });
      const byImei = (a: { imei: string }, b: { imei: string }) => a.imei.localeCompare(b.imei);
      expect(monitor.expected().map(({ imei, iccid, imsi }) => ({ imei, iccid, imsi }))).toEqual(
        [...want].sort(byImei),
      );
      // Each device reporting what its modem reported at hello is bound.
      for (const [i, pair] of want.entries()) {
        const outcome = monitor.handleIdentityReport(
          { productKey: "a1ExpOrtA01", deviceName: `dev${i}` },
          { ...pair, modem: "Quectel EC200U-CN" },
        );
        expect(outcome.result).toBe("bound");
      }
    } finally {
      await monitor.close();
    }

    // As QA runs it: `triadkit-sim cloud --bindings <the export>`.
    const db = out("cloud.sqlite");
    const cloud = startSim(["cloud", "--port", "0", "--bindings", file, "--db", db]);
    try {
      await expect.poll(() => cloud.stdout(), { timeout: 15_000 }).toContain("READY mqtt://");
      expect(cloud.stderr()).toContain(`imported 6 expected bindings from ${file} (0 rows refused)`);
    } finally {
      cloud.child.kill("SIGTERM");
      await cloud.exit;
    }
    const store = new BindingStore(db, { readonly: true });
    try {
      expect(store.listExpected().map(({ imei, iccid, imsi }) => ({ imei, iccid, imsi }))).toEqual(
        [...want].sort((a, b) => a.imei.localeCompare(b.imei)),
      );
    } finally {
      store.close();
    }
  });

  it("burns: one row per device, equal to the ledger, with operator, fixture and state; --include-quarantined", async () => {
    const file = out("burns.csv");
    const run = await floor.run(["export", "burns", "--out", file]);
    expect(run.code, run.stderr).toBe(0);
    const [header, ...rows] = csvRows(readFileSync(file, "utf8"));
    expect(readFileSync(file).subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf])); // BOM: Excel reads it
    const col = (name: string) => (header as string[]).indexOf(name);
    const devices = ledgerDevices.filter(shipping);
    expect(rows).toHaveLength(devices.length);
    for (const d of devices) {
      const row = rows.find((r) => r[col("chipId")] === d.chipId) as string[];
      expect(row, d.chipId).toBeDefined();
      expect(row[col("triadId")]).toBe(d.triadId);
      expect(row[col("workOrderId")]).toBe(d.workOrderId);
      expect(row[col("identity")]).toBe(d.identity);
      expect(row[col("imei")]).toBe(d.imei);
      expect(row[col("iccid")]).toBe(d.iccid);
      expect(row[col("imsi")]).toBe(d.imsi);
      expect(row[col("fixture")]).toBe(d.fixture);
      expect(row[col("recordHash")]).toBe(d.recordHash);
      expect(row[col("state")]).toBe("verified");
      expect(row[col("operator")]).toBe(OPERATOR);
      expect(row[col("model")]).toBe("TK-CELL-1");
      expect(row[col("firmware")]).toBe("1.3.0");
      expect(Date.parse(row[col("burntAt")] as string)).toBeGreaterThan(0);
      expect(Date.parse(row[col("verifiedAt")] as string)).toBeGreaterThan(0);
      expect(row[col("problems")]).toBe("");
    }
    const withQ = out("burns-q.csv");
    expect((await floor.run(["export", "burns", "--include-quarantined", "--out", withQ])).code).toBe(0);
    const [h2, ...rows2] = csvRows(readFileSync(withQ, "utf8"));
    expect(rows2).toHaveLength(devices.length + 1);
    const quarantined = rows2.find((r) => r[(h2 as string[]).indexOf("chipId")] === boardsA[6]?.chipId);
    expect(quarantined?.[(h2 as string[]).indexOf("state")]).toBe("quarantined");
    expect(rows2.flat()).not.toContain(boardsA[7]?.chipId); // scrapped: never
  });

  it("burns as xlsx: the data sheet plus a checkpoint sheet whose signed checkpoint covers the audited digest", async () => {
    const file = out("burns.xlsx");
    const run = await floor.run(["export", "burns", "--out", file, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json() as { auditSeq: number; contentSha256: string; sha256: string; rows: number };
    expect(result.sha256).toBe(sha256(readFileSync(file)));
    const book = new ExcelJS.Workbook();
    await book.xlsx.readFile(file);
    expect(book.worksheets.map((w) => w.name)).toEqual(["burns", "checkpoint"]);
    const csv = csvRows(readFileSync(out("burns.csv"), "utf8"));
    const width = csv[0]?.length ?? 0;
    const data: string[][] = [];
    book.getWorksheet("burns")?.eachRow((row) => {
      data.push(Array.from({ length: width }, (_, i) => String(row.getCell(i + 1).value ?? "")));
    });
    // The same rows as the CSV (every cell text; the CSV has no formula-like cell to neutralise here).
    expect(data).toEqual(csv);
    expect(contentDigest(data)).toBe(result.contentSha256);
    const cp = new Map<string, string>();
    book.getWorksheet("checkpoint")?.eachRow((row) => {
      const [k, v] = (row.values as unknown[]).slice(1);
      cp.set(String(k), String(v));
    });
    expect(cp.get("kind")).toBe("burns");
    expect(cp.get("contentSha256")).toBe(result.contentSha256);
    expect(Number(cp.get("auditSeq"))).toBe(result.auditSeq);
    expectCheckpointSigned({
      stationId: cp.get("stationId") as string,
      seq: Number(cp.get("seq")),
      headMac: cp.get("headMac") as string,
      time: cp.get("time") as string,
      signature: cp.get("signature") as string,
      publicKey: cp.get("publicKey") as string,
    });
    const entry = await auditEntry(result.auditSeq);
    expect(entry.details).toMatchObject({ kind: "burns", format: "xlsx", contentSha256: result.contentSha256 });
    expect(entry.details["sha256"]).toBeUndefined(); // the file holds its checkpoint: only its content is audited
    // Identifiers are string cells (never numbers), and no sheet has a formula.
    const xml = unzip(readFileSync(file));
    const sheets = [...xml.keys()].filter((k) => k.startsWith("xl/worksheets/sheet"));
    expect(sheets).toHaveLength(2);
    for (const s of sheets) expect(xml.get(s)?.toString("utf8")).not.toContain("<f>");
  });

  it("a template: GBK with Chinese headers, its own column order and a fixed column", async () => {
    const template = out("imei-gbk.json");
    writeFileSync(
      template,
      JSON.stringify({
        format: "triadkit-export-template",
        version: 1,
        kind: "imei",
        assumed: false,
        columns: [
          { header: "设备IMEI号", field: "imei" },
          { header: "型号", field: "model" },
          { header: "备注", value: "机卡绑定" },
        ],
        encoding: "gbk",
        lineEnding: "lf",
      }),
    );
    const file = out("imei-gbk.csv");
    const run = await floor.run(["export", "imei", "--work-order", ORDER_B, "--template", template, "--out", file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain("ASSUMED");
    const bytes = readFileSync(file);
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(bytes)).toThrow();
    expect(new TextDecoder("gbk").decode(bytes)).toBe(
      `设备IMEI号,型号,备注\n${simFor(10).imei},TK-CELL-1,机卡绑定\n${simFor(11).imei},TK-CELL-1,机卡绑定\n`,
    );
    // A header GBK cannot encode is a template error, before anything is written.
    writeFileSync(
      template,
      JSON.stringify({
        format: "triadkit-export-template",
        version: 1,
        kind: "imei",
        columns: [{ header: "IMEI 📱", field: "imei" }],
        encoding: "gbk",
      }),
    );
    const bad = await floor.run(["export", "imei", "--template", template, "--out", out("never.csv"), "--json"]);
    expect(bad.code).toBe(1);
    expect(bad.json()).toMatchObject({ ok: false, error: { code: "export.bad_template" } });
    expect(existsSync(out("never.csv"))).toBe(false);
  });

  it("bad and duplicate identifiers: refused whole, left out with --skip-invalid, flagged in the burn report", async () => {
    const chip1 = boardsA[1]?.chipId as string;
    const chip2 = boardsA[2]?.chipId as string;
    const chip3 = boardsA[3]?.chipId as string;
    const badImei = `${simFor(1).imei.slice(0, 14)}${(Number(simFor(1).imei.at(-1)) + 1) % 10}`;
    const db = new Database(floor.db);
    const set = db.prepare("UPDATE device_links SET imei = ?, iccid = ? WHERE chip_id = ? AND status = 'active'");
    try {
      set.run(badImei, simFor(1).iccid, chip1); // Luhn fails
      set.run(simFor(2).imei, simFor(0).iccid, chip2); // the card of board 0
      set.run("000000000000000", simFor(3).iccid, chip3); // the placeholder of a modem without an IMEI
      const before = (await floor.run(["audit", "verify", "--json"])).json() as { lastSeq: number };

      const file = out("imei-bad.csv");
      const refused = await floor.run(["export", "imei", "--out", file, "--json"]);
      expect(refused.code).toBe(1);
      const body = refused.json() as { error: { code: string }; problems: number; problemsReport: string };
      expect(body).toMatchObject({ error: { code: "export.rejected" }, problems: 2 });
      expect(existsSync(file)).toBe(false);
      expect(existsSync(`${file}.checkpoint.json`)).toBe(false);
      const report = csvRows(readFileSync(body.problemsReport, "utf8"));
      expect(report[0]).toEqual(["chipId", "triadId", "identity", "field", "value", "code", "cause", "message"]);
      expect(report.slice(1).map((r) => [r[0], r[3], r[5], r[6]])).toEqual([
        [chip1, "imei", "export.bad_identifier", "id.imei_check_digit"],
        [chip3, "imei", "export.bad_identifier", "id.bad_imei"],
      ]);
      // A refused export writes nothing to the audit trail.
      expect(((await floor.run(["audit", "verify", "--json"])).json() as { lastSeq: number }).lastSeq).toBe(
        before.lastSeq,
      );

      const iccid = await floor.run(["export", "iccid", "--out", out("iccid-bad.csv"), "--json"]);
      expect(iccid.code).toBe(1);
      expect((iccid.json() as { issues: { chipId: string; code: string }[] }).issues).toEqual([
        expect.objectContaining({ chipId: chip2, code: "export.duplicate_identifier", field: "iccid" }),
      ]);

      const skipped = out("bindings-skip.csv");
      const skip = await floor.run(["export", "bindings", "--skip-invalid", "--out", skipped, "--json"]);
      expect(skip.code, skip.stderr).toBe(0);
      expect(skip.json()).toMatchObject({ rows: 3, problems: 3 });
      const kept = csvRows(readFileSync(skipped, "utf8")).slice(1);
      expect(kept.map((r) => r[0])).toEqual([simFor(0).imei, simFor(10).imei, simFor(11).imei]);
      const entry = await auditEntry((skip.json() as { auditSeq: number }).auditSeq);
      expect(entry.details).toMatchObject({ kind: "bindings", rows: 3, problems: 3 });
      // The monitor takes the file with the problem devices left out.
      const monitor = new BindingMonitor(
        { expectedCsv: readFileSync(skipped, "utf8"), silenceCheckMs: 0 },
        { clock: new ManualClock({ wallStartMs: 0 }) },
      );
      expect(monitor.initialImport).toMatchObject({ added: 3, errors: [] });
      await monitor.close();

      const burns = out("burns-flagged.csv");
      const flagged = await floor.run(["export", "burns", "--out", burns]);
      expect(flagged.code, flagged.stderr).toBe(0);
      expect(flagged.stderr).toContain("3 problem(s) flagged in the problems column");
      const [header, ...rows] = csvRows(readFileSync(burns, "utf8"));
      const col = (n: string) => (header as string[]).indexOf(n);
      const rowOf = (chip: string) => rows.find((r) => r[col("chipId")] === chip) as string[];
      expect(rows).toHaveLength(8);
      expect([rowOf(chip1)[col("imei")], rowOf(chip1)[col("problems")]]).toEqual(["", "id.imei_check_digit"]);
      expect([rowOf(chip2)[col("iccid")], rowOf(chip2)[col("problems")]]).toEqual([
        simFor(0).iccid,
        "export.duplicate_identifier",
      ]);
      expect(rowOf(chip3)[col("problems")]).toBe("id.bad_imei");
    } finally {
      for (const [i, b] of [1, 2, 3].map((i) => [i, boardsA[i]] as const)) {
        set.run(simFor(i).imei, simFor(i).iccid, b?.chipId as string);
      }
      db.close();
    }
  });

  it("files, usage and empty exports: never overwrite unless --force; coded errors", async () => {
    const file = out("imei.csv"); // written by the first test
    const exists = await floor.run(["export", "imei", "--out", file, "--json"]);
    expect(exists.code).toBe(1);
    expect(exists.json()).toMatchObject({ ok: false, error: { code: "export.file_exists" } });
    const forced = await floor.run(["export", "imei", "--out", file, "--force", "--json"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(`${file}.checkpoint.json`, "utf8")).auditSeq).toBe(
      (forced.json() as { auditSeq: number }).auditSeq,
    );

    expect((await floor.run(["export", "imei", "--format", "xls"])).code).toBe(2);
    expect((await floor.run(["export", "imei", "--format", "xlsx", "--out", out("x.csv")])).code).toBe(2);
    expect((await floor.run(["export", "nope"])).code).toBe(2);
    const unknown = await floor.run(["export", "imei", "--work-order", "WO-NOPE", "--out", out("n.csv"), "--json"]);
    expect(unknown.json()).toMatchObject({ error: { code: "ledger.unknown_work_order" } });
    expect(existsSync(out("n.csv"))).toBe(false);

    const station = await floor.reopen();
    await station.ledger.addWorkOrder(
      { id: "WO-EXP-EMPTY", product: "a1ExpOrtC01", model: "TK-CELL-1", minFirmware: "1.0" },
      station.actor(OPERATOR),
    );
    await floor.closeStation();
    const empty = await floor.run(["export", "bindings", "--work-order", "WO-EXP-EMPTY", "--out", out("e.csv")]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("(export.empty)");
    expect(existsSync(out("e.csv"))).toBe(false);

    const badTemplate = out("bad-template.json");
    const tryTemplate = async (template: object) => {
      writeFileSync(badTemplate, JSON.stringify({ format: "triadkit-export-template", version: 1, ...template }));
      const run = await floor.run(["export", "iccid", "--template", badTemplate, "--json"]);
      expect(run.code).toBe(1);
      return run.json();
    };
    expect(await tryTemplate({ kind: "imei", columns: [{ header: "IMEI", field: "imei" }] })).toMatchObject({
      error: { code: "export.bad_template", context: { path: "kind" } },
    });
    expect(await tryTemplate({ kind: "iccid", columns: [{ header: "I" }] })).toMatchObject({
      error: { code: "export.bad_template", context: { path: "columns.0" } },
    });
    expect(await tryTemplate({ kind: "iccid", columns: [{ header: "K", field: "deviceSecret" }] })).toMatchObject({
      error: { code: "export.bad_template", context: { path: "columns.0.field" } },
    });

    const help = await floor.run(["export", "--help"]);
    expect(help.stdout).toMatch(/imei[\s\S]*iccid[\s\S]*bindings[\s\S]*burns/);
    const sub = await floor.run(["export", "burns", "--help"]);
    expect(sub.stdout).toContain("--include-quarantined");
    expect(sub.stdout).toContain("verifiedAt");
  });

  it("without --out, the file is named after the kind, work order and time, here", async () => {
    const run = await floor.run(["export", "imei", "--work-order", ORDER_A, "--format", "xlsx"], { cwd: floor.dir });
    expect(run.code, run.stderr).toBe(0);
    const named = readdirSync(floor.dir).filter((n) => /^imei-WO-EXP-A-\d{8}T\d{6}Z\.xlsx$/.test(n));
    expect(named).toHaveLength(1);
  });

  it("no file any export produced holds a secret or a PoP (CSV, xlsx XML, sidecars, reports); the audit verifies", async () => {
    const files = readdirSync(floor.dir).filter((n) => /\.(csv|xlsx|json)$/.test(n) && !n.startsWith("ledger"));
    expect(files.length).toBeGreaterThan(15);
    const needles = [...floor.secrets, ...floor.pops].map((s) => s.toLowerCase());
    expect(needles.length).toBeGreaterThan(30);
    for (const name of files) {
      const raw = readFileSync(join(floor.dir, name));
      const texts = name.endsWith(".xlsx")
        ? [...unzip(raw).values()].map((b) => b.toString("utf8"))
        : [raw.toString("utf8"), raw.toString("latin1")];
      for (const text of texts) {
        const lower = text.toLowerCase();
        for (const n of needles) expect(lower.includes(n), `${name} holds a secret or PoP`).toBe(false);
      }
    }
    const verify = await floor.run(["audit", "verify", "--json"]);
    expect(verify.json()).toMatchObject({ ok: true, problems: [] });
    const station = await openStation({ dbPath: floor.db, operator: OPERATOR });
    try {
      const exports = (await station.ledger.auditEntries(station.stationId, 0, 10_000)).filter(
        (e) => e.action === "export",
      );
      expect(exports.length).toBeGreaterThanOrEqual(10);
    } finally {
      await station.close();
    }
  });
});
