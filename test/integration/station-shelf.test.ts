/**
 * Smart-shelf codes from the command line, as factory staff run them: the brand's sheet imported (Chinese headers,
 * all or nothing with a report and its signed checkpoint), a code typed on the line, `burn --shelf` over PTYs to
 * simulated boards (`triadkit-sim device --factory-pty`): each board's record holds its store id and device code,
 * the ledger says pending_activation; no code left fails before any triad is reserved.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLines, MODEL, needSocat, PRODUCT, type SimBoard, StationFloor } from "./station-burn-harness.js";

let floor: StationFloor;
const boards: SimBoard[] = [];

async function workbook(path: string, rows: readonly (readonly unknown[])[]): Promise<string> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet("设备列表");
  rows.forEach((row, i) => {
    row.forEach((v, j) => {
      ws.getCell(i + 1, j + 1).value = v as ExcelJS.CellValue;
    });
  });
  await wb.xlsx.writeFile(path);
  return path;
}

/** A work order of the brand with `count` Alibaba triads of fresh secrets. */
function brandOrder(id: string, brand: string, count: number): void {
  const rows = ["ProductKey,DeviceName,DeviceSecret"];
  for (let i = 0; i < count; i++) {
    const secret = randomBytes(24).toString("base64").replace(/[+/=]/g, "x").slice(0, 32);
    floor.secrets.push(secret);
    rows.push(`${PRODUCT},sh_${id}_${i}`.concat(`,${secret}`));
  }
  writeFileSync(join(floor.dir, `${id}.csv`), `${rows.join("\n")}\n`);
  const add = floor.run([
    "orders",
    "add",
    id,
    "--product",
    PRODUCT,
    "--model",
    MODEL,
    "--min-firmware",
    "1.2.0",
    "--brand",
    brand,
  ]);
  expect(add.code, add.stderr).toBe(0);
  const imp = floor.run(["import", join(floor.dir, `${id}.csv`), "--work-order", id]);
  expect(imp.code, imp.stderr).toBe(0);
}

const shelfList = (...args: string[]) =>
  (JSON.parse(floor.run(["shelf", "list", "--json", ...args]).stdout) as { devices: Record<string, unknown>[] })
    .devices;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "triadkit-shelf-"));
  floor = new StationFloor(dir, join(dir, "station.db"));
  brandOrder("WO-SHELF", "Acme", 4);
}, 60_000);

afterAll(async () => {
  await floor.close();
  await rm(floor.dir, { recursive: true, force: true });
});

describe("triadkit-station shelf", () => {
  it("every shelf command has --help", () => {
    for (const cmd of ["import", "add", "list", "show", "recode", "release", "status"]) {
      const help = floor.run(["shelf", cmd, "--help"]);
      expect(help.code, cmd).toBe(0);
      expect(help.stdout).toContain("Usage: triadkit-station shelf");
    }
    expect(floor.run(["burn", "--help"]).stdout).toContain("--shelf");
  });

  it("rejects a damaged sheet whole, with a report and its signed checkpoint; the ledger is untouched", async () => {
    const path = await workbook(join(floor.dir, "bad.xlsx"), [
      ["品牌", "门店id", "设备id", "设备名称"],
      ["Acme", 184454101, "8F6A77C73E", "11111"],
      ["Acme", 184454101, 8e6, "a code Excel made a number"],
      ["Acme", "18445.4101", "8F6A77C740", "store id with a dot"],
    ]);
    const r = floor.run(["shelf", "import", path, "--json"]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as {
      error: { code: string };
      issues: { row: number; code: string }[];
      report: string;
    };
    expect(j.error.code).toBe("import.rejected");
    expect(j.issues.map((i) => [i.row, i.code])).toEqual([
      [3, "import.damaged_cell"],
      [4, "import.damaged_cell"],
    ]);
    expect(readFileSync(j.report, "utf8")).toContain("import.damaged_cell");
    expect(JSON.parse(readFileSync(`${j.report}.checkpoint.json`, "utf8")).checkpoint.signature).toMatch(
      /^[0-9a-f]{128}$/,
    );
    expect(shelfList()).toEqual([]);
  });

  it("imports the brand's sheet and a code typed on the line", async () => {
    const path = await workbook(join(floor.dir, "good.xlsx"), [
      ["门店码", "设备初始Code", "设备名称"],
      [184454101, "8F6A77C73E", "11111"],
      [184454101, "8F6A77C73F", "启赋快闪店"],
    ]);
    const r = floor.run(["shelf", "import", path, "--brand", "Acme", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, imported: 2, newBrands: ["Acme"], newStores: [184454101] });
    const add = floor.run(["shelf", "add", "--store", "184454101", "--code", "8F6A77C740", "--name", "扫码"]);
    expect(add.code, add.stderr).toBe(0);
    const again = floor.run(["shelf", "add", "--store", "184454101", "--code", "8F6A77C740", "--json"]);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).error.code).toBe("shelf.code_exists");
    expect(floor.run(["shelf", "add", "--store", "99", "--code", "X"]).code).toBe(2); // a new store needs --brand
    expect(shelfList("--unassigned").map((d) => d["deviceCode"])).toEqual(["8F6A77C73E", "8F6A77C73F", "8F6A77C740"]);
  });

  it("burn --shelf writes store id and device code into each board; the ledger says pending_activation", async (ctx) => {
    needSocat(ctx);
    boards.push(...(await Promise.all(["s1", "s2"].map((n) => floor.device(n)))));
    const r = floor.run([
      "burn",
      "--port",
      boards[0]?.pty as string,
      "--port",
      boards[1]?.pty as string,
      "--work-order",
      "WO-SHELF",
      "--shelf",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.every((l) => l["result"] === "pass")).toBe(true);
    const codes = new Set(lines.map((l) => (l["shelf"] as { deviceCode: string }).deviceCode));
    expect(codes).toEqual(new Set(["8F6A77C73E", "8F6A77C73F"]));
    for (const b of boards) {
      const shown = await b.show();
      const shelf = shown["shelf"] as { storeId: number; deviceCode: string };
      expect(shelf.storeId).toBe(184454101);
      const [d] = shelfList("--assigned").filter((x) => x["chipId"] === b.chipId);
      expect(d).toMatchObject({ deviceCode: shelf.deviceCode, status: "pending_activation" });
    }
    floor.expectNoSecrets();
  });

  it("no code left: the board fails with shelf.no_code before any triad is reserved", async (ctx) => {
    needSocat(ctx);
    floor.run(["shelf", "add", "--store", "7", "--brand", "Zed", "--code", "Z1"]);
    const [z1, z2] = await Promise.all(["z1", "z2"].map((n) => floor.device(n)));
    boards.push(z1 as SimBoard, z2 as SimBoard);
    const before = JSON.parse(floor.run(["status", "--json"]).stdout).total;
    const ok = floor.run([
      "burn",
      "--port",
      z1?.pty as string,
      "--work-order",
      "WO-SHELF",
      "--shelf",
      "--store",
      "7",
      "--json",
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const r = floor.run([
      "burn",
      "--port",
      z2?.pty as string,
      "--work-order",
      "WO-SHELF",
      "--shelf",
      "--store",
      "7",
      "--json",
    ]);
    expect(r.code).toBe(1);
    expect(jsonLines(r.stdout)[0]).toMatchObject({ result: "fail", code: "shelf.no_code", triad: null });
    const after = JSON.parse(floor.run(["status", "--json"]).stdout).total;
    expect(after).toMatchObject({ available: before.available - 1, reserved: 0, verified: before.verified + 1 });
    expect((await z2?.show())?.["state"]).toBe("blank");
    expect(floor.run(["burn", "--port", z2?.pty as string, "--work-order", "WO-SHELF", "--store", "7"]).code).toBe(2);
    expect(existsSync(join(floor.dir, "bad.xlsx.report.csv"))).toBe(true);
  });

  it("export shelf: the registration list with each ISV line, audited with a checkpoint, free of secrets", async (ctx) => {
    needSocat(ctx);
    const out = join(floor.dir, "acme-shelf.csv");
    const r = floor.run(["export", "shelf", "--brand", "Acme", "--out", out, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { rows: number; sidecar: string; checkpoint: { signature: string } };
    expect(j.rows).toBe(3);
    const bytes = readFileSync(out);
    const text = bytes.toString("utf8");
    const burnt = boards.slice(0, 2).map((b) => b.chipId as string);
    for (const chip of burnt) expect(text).toContain(chip);
    // The ISV line, byte for byte: full-width ，and ：after 门店id, an ASCII colon after 设备id.
    const line = Buffer.from("Acme\uff0c门店id\uff1a184454101\uff0c设备id:8F6A77C73E", "utf8");
    expect(bytes.includes(line)).toBe(true);
    expect(text).toContain("alibaba:a1Bn7StAt1n/sh_WO-SHELF_");
    expect(JSON.parse(readFileSync(j.sidecar, "utf8")).checkpoint.signature).toBe(j.checkpoint.signature);
    const lines = floor.run(["export", "shelf", "--brand", "Acme", "--assigned", "--lines"]);
    expect(lines.code, lines.stderr).toBe(0);
    expect(lines.stdout.split("\n").filter(Boolean).sort()).toEqual([
      "Acme，门店id：184454101，设备id:8F6A77C73E",
      "Acme，门店id：184454101，设备id:8F6A77C73F",
    ]);
    expect(floor.run(["export", "shelf", "--brand", "Nobody", "--lines"]).code).toBe(1);
    const audit = floor.run(["audit", "verify", "--json"]);
    expect(audit.code, audit.stdout).toBe(0);
    floor.outputs.push(text);
    floor.expectNoSecrets();
  });
});
