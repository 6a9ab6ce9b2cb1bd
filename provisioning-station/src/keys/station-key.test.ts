import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitError } from "@triadkit/protocol";
import { CryptoRandom } from "@triadkit/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createStationKeyFile,
  deriveStationKey,
  loadStationKeyFile,
  obtainStationKey,
  resolveStationKeyFile,
  STATION_KEY_ENV,
} from "./station-key.js";

const random = new CryptoRandom();
const now = () => 1_790_000_000_000;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tk-keys-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("station key file", () => {
  it("is created with mode 0600, never overwritten, and loads back to the same keys", () => {
    const path = join(dir, "station.key");
    const created = createStationKeyFile(path, { random, now, stationId: "line-1" });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const loaded = loadStationKeyFile(path);
    expect(loaded).toEqual(created);
    expect(loaded.stationId).toBe("line-1");
    const j = JSON.parse(readFileSync(path, "utf8"));
    expect(j).toMatchObject({ format: "triadkit-station-key", version: 1, stationId: "line-1" });
    expect(j.root).toMatch(/^[0-9a-f]{64}$/);
    expectTriadkitError(() => createStationKeyFile(path, { random, now }), "keys.bad_key_file");
  });

  it("derives separate keys per purpose, bound to the station id", () => {
    const root = random.bytes(32);
    const a = deriveStationKey("st-a", root);
    const b = deriveStationKey("st-b", root);
    const hex = (u: Uint8Array) => Buffer.from(u).toString("hex");
    expect(new Set([hex(a.wrapKey), hex(a.auditMacKey), hex(a.signingSeed), hex(Buffer.from(root))]).size).toBe(4);
    expect(hex(a.wrapKey)).not.toBe(hex(b.wrapKey));
    expect(a.publicKey).toHaveLength(32);
  });

  it("refuses a key file readable by group or others, and malformed files", () => {
    const path = join(dir, "station.key");
    createStationKeyFile(path, { random, now });
    chmodSync(path, 0o640);
    expectTriadkitError(() => loadStationKeyFile(path), "keys.bad_key_file");
    chmodSync(path, 0o604);
    expectTriadkitError(() => loadStationKeyFile(path), "keys.bad_key_file");
    for (const text of ["not json", '{"format":"triadkit-station-key","version":2}', '{"format":"x","version":1}']) {
      writeFileSync(join(dir, "bad.key"), text, { mode: 0o600 });
      expectTriadkitError(() => loadStationKeyFile(join(dir, "bad.key")), "keys.bad_key_file");
    }
    const short = { format: "triadkit-station-key", version: 1, stationId: "s", root: "00".repeat(16) };
    writeFileSync(join(dir, "short.key"), JSON.stringify(short), { mode: 0o600 });
    const err = expectTriadkitError(() => loadStationKeyFile(join(dir, "short.key")), "keys.bad_key_file");
    expect(JSON.stringify(err)).not.toContain("00000000");
    expectTriadkitError(() => loadStationKeyFile(join(dir, "none.key")), "keys.missing_key_file");
  });

  it("resolves --key-file, then the environment, then <db>.key", () => {
    const dbPath = join(dir, "ledger.db");
    const env = { [STATION_KEY_ENV]: "/env/station.key" };
    expect(resolveStationKeyFile({ keyFile: "/opt/k", env, dbPath })).toEqual({ path: "/opt/k", source: "option" });
    expect(resolveStationKeyFile({ env, dbPath })).toEqual({ path: "/env/station.key", source: "env" });
    expect(resolveStationKeyFile({ env: {}, dbPath })).toEqual({ path: `${dbPath}.key`, source: "default" });
  });

  it("creates a missing key file only beside a new database", () => {
    const dbPath = join(dir, "ledger.db");
    const base = { dbPath, random, now };
    expectTriadkitError(() => obtainStationKey({ ...base, databaseExists: true }), "keys.missing_key_file");
    const first = obtainStationKey({ ...base, databaseExists: false });
    expect(first).toMatchObject({ created: true, source: "default", path: `${dbPath}.key` });
    const again = obtainStationKey({ ...base, databaseExists: true });
    expect(again.created).toBe(false);
    expect(again.key).toEqual(first.key);
  });
});
