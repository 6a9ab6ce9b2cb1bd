/**
 * `triadkit-station` on a shared PostgreSQL pool, as two line PCs run it (node provisioning-station/bin, no build):
 * station 1 starts the pool (orders add, import), grants station 2 (whose key file the grant creates), station 2
 * reads status, both burn simulated boards over PTYs (when socat is there), `audit verify` passes on both, a revoke
 * shuts station 2 out. A URL without --key-file is a usage error; an unreachable server is `ledger.open_failed`;
 * the URL's password is printed nowhere. Own schema per run, dropped after. Skips loudly without PostgreSQL;
 * fails under TRIADKIT_REQUIRE_SERVICES=1.
 */
import { randomBytes } from "node:crypto";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  dropSchema,
  requirePostgres,
  TEST_POSTGRES_URL,
  testSchemaName,
} from "../../provisioning-station/src/ledger/__tests__/pg-test-db.js";
import { hasSocat, jsonLines, MODEL, PRODUCT, type SimBoard, StationFloor } from "./station-burn-harness.js";

let available = false;
let floor: StationFloor;
let schema: string;
let url: string;
let key1: string;
let key2: string;
const boards: SimBoard[] = [];

beforeAll(async () => {
  available = await requirePostgres();
  const dir = await mkdtemp(join(tmpdir(), "triadkit-station-pg-"));
  schema = testSchemaName();
  const u = new URL(TEST_POSTGRES_URL);
  u.searchParams.set("schema", schema);
  url = u.toString();
  floor = new StationFloor(dir, url);
  key1 = join(dir, "line-1.key");
  key2 = join(dir, "line-2.key");
}, 30_000);

afterAll(async () => {
  await floor.close();
  if (available) await dropSchema(schema);
  await rm(floor.dir, { recursive: true, force: true });
});

function asStation(key: string, args: readonly string[]) {
  return floor.run([...args, "--key-file", key]);
}

function ok(r: { code: number | null; stdout: string; stderr: string }): Record<string, unknown> {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) as string) as Record<string, unknown>;
}

describe("triadkit-station on PostgreSQL (two stations, one pool)", () => {
  it("refuses a URL without --key-file (usage, exit 2) and reports an unreachable server, password hidden", () => {
    const noKey = floor.run(["status"]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain("--key-file");
    const down = floor.run(["status", "--json", "--key-file", join(floor.dir, "nope.key")], {
      db: "postgres://line:hunter2-pw@127.0.0.1:1/test",
    });
    expect(down.code).toBe(1);
    expect(`${down.stdout}${down.stderr}`).not.toContain("hunter2-pw");
    const downAdd = floor.run(
      ["orders", "add", "WO-X", "--product", PRODUCT, "--model", MODEL, "--min-firmware", "1.2.0", "--json"].concat([
        "--key-file",
        `${key1}.x`,
      ]),
      { db: "postgres://line:hunter2-pw@127.0.0.1:1/test" },
    );
    expect(downAdd.code).toBe(1);
    expect((JSON.parse(downAdd.stdout.trim()) as { error: { code: string } }).error.code).toBe("ledger.open_failed");
    expect(`${downAdd.stdout}${downAdd.stderr}`).not.toContain("hunter2-pw");
    expect(existsSync(`${key1}.x`)).toBe(false); // no key file made for a pool that could not be reached
  }, 120_000);

  it("station 1 starts the pool, imports, grants station 2 (creating its key file); station 2 reads the pool", (ctx) => {
    if (!available) return ctx.skip();
    const rows = ["ProductKey,DeviceName,DeviceSecret"];
    for (let i = 0; i < 6; i++) {
      const secret = randomBytes(24).toString("base64").replace(/[+/=]/g, "x").slice(0, 32);
      floor.secrets.push(secret);
      rows.push(`${PRODUCT},pg_${String(i).padStart(4, "0")},${secret}`);
    }
    const sheet = join(floor.dir, "WO-PG.csv");
    writeFileSync(sheet, `${rows.join("\n")}\n`);

    // Station 2 has no key file yet and cannot open the pool; only `orders add` creates a missing key file.
    expect(asStation(key2, ["status", "--json"]).code).toBe(1);
    expect(existsSync(key2)).toBe(false);

    ok(
      asStation(key1, [
        "orders",
        "add",
        "WO-PG",
        "--product",
        PRODUCT,
        "--model",
        MODEL,
        "--min-firmware",
        "1.2.0",
        "--json",
      ]),
    );
    expect(statSync(key1).mode & 0o777).toBe(0o600);
    const imported = ok(asStation(key1, ["import", sheet, "--work-order", "WO-PG", "--json"]));
    expect(imported).toMatchObject({ ok: true });

    const granted = ok(
      asStation(key1, ["keys", "grant", "--station", "line-2", "--station-key", key2, "--line", "L2", "--json"]),
    );
    expect(granted).toMatchObject({
      ok: true,
      stationId: "line-2",
      line: "L2",
      keyVersions: [1],
      keyFileCreated: true,
    });
    expect(statSync(key2).mode & 0o777).toBe(0o600);
    // A key file of another station than --station is refused.
    expect(asStation(key1, ["keys", "grant", "--station", "line-9", "--station-key", key2]).code).toBe(2);

    const s1 = ok(asStation(key1, ["status", "--json"]));
    const s2 = ok(asStation(key2, ["status", "--json"]));
    expect((s2.total as Record<string, number>).available).toBe(6);
    expect(s2.total).toEqual(s1.total);
    const keys = ok(asStation(key2, ["keys", "--json"])) as { stationId: string; poolId: string };
    expect(keys.stationId).toBe("line-2");
    expect(keys.poolId).toBe((ok(asStation(key1, ["keys", "--json"])) as { poolId: string }).poolId);
  }, 240_000);

  it("both stations burn simulated boards from the one pool: each triad once", async (ctx) => {
    if (!available || !hasSocat) {
      if (process.env.TRIADKIT_REQUIRE_SERVICES === "1" && !hasSocat) throw new Error("socat is missing");
      return ctx.skip();
    }
    boards.push(...(await Promise.all([floor.device("b1"), floor.device("b2")])));
    const [b1, b2] = boards as [SimBoard, SimBoard];
    const r1 = asStation(key1, ["burn", "--port", b1.pty, "--work-order", "WO-PG", "--json"]);
    const r2 = asStation(key2, ["burn", "--port", b2.pty, "--work-order", "WO-PG", "--json"]);
    const out = [...jsonLines(r1.stdout), ...jsonLines(r2.stdout)].filter((l) => l.result !== undefined);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r2.code, r2.stderr).toBe(0);
    expect(out.map((l) => l.result)).toEqual(["pass", "pass"]);
    const triads = out.map((l) => (l.triad as { id: string } | undefined)?.id ?? l.triadId);
    expect(new Set(triads).size).toBe(2);
    const total = ok(asStation(key2, ["status", "--json"])).total as Record<string, number>;
    expect(total.available).toBe(4);
  }, 240_000);

  it("audit verify passes on both stations; revoke drops station 2's keys and advises a rotation", (ctx) => {
    if (!available) return ctx.skip();
    expect(ok(asStation(key1, ["audit", "verify", "--json"]))).toMatchObject({ ok: true });
    expect(ok(asStation(key2, ["audit", "verify", "--json"]))).toMatchObject({ ok: true });
    expect(asStation(key2, ["keys", "revoke", "--station", "line-2"]).code).toBe(1); // not itself
    const revoked = ok(asStation(key1, ["keys", "revoke", "--station", "line-2", "--json"]));
    expect(revoked).toMatchObject({ ok: true, stationId: "line-2", keyVersions: [1], rotateAdvised: true });
    const out = asStation(key2, ["status", "--json"]);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain("keys.wrong_key");
    expect(ok(asStation(key1, ["audit", "verify", "--json"]))).toMatchObject({ ok: true });
    floor.expectNoSecrets();
  }, 240_000);
});
