import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isTriadkitError } from "@triadkit/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { parseWifiNetworksFile, SimulatedWifiManager } from "./simulated.js";

async function settle<T>(clock: ManualClock, promise: Promise<T>, stepMs = 100): Promise<T> {
  let done = false;
  const outcome = promise.then(
    (value) => ({ value, error: undefined, failed: false }),
    (error: unknown) => ({ value: undefined, error, failed: true }),
  );
  void outcome.then(() => {
    done = true;
  });
  while (!done) {
    await new Promise((r) => setImmediate(r));
    if (clock.pending() > 0) clock.advance(stepMs);
  }
  const o = await outcome;
  if (o.failed) throw o.error;
  return o.value as T;
}

const FILE = [
  "# lab networks",
  "Home\thunter2-hunter2",
  "Cafe\t",
  "Broken\tgood-password-1\trefuse_password",
  "Away\tgood-password-2\tabsent",
  "NoLease\tgood-password-3\tdhcp_timeout",
  "Slow\tgood-password-4\tslow_join",
  "",
].join("\r\n");

describe("parseWifiNetworksFile", () => {
  it("reads networks, open ones and faults, skipping comments and blank lines", () => {
    const { networks, problems } = parseWifiNetworksFile(`\uFEFF${FILE}`);
    expect(problems).toEqual([]);
    expect(networks).toEqual([
      { ssid: "Home", password: "hunter2-hunter2" },
      { ssid: "Cafe", password: "" },
      { ssid: "Broken", password: "good-password-1", fault: "refuse_password" },
      { ssid: "Away", password: "good-password-2", fault: "absent" },
      { ssid: "NoLease", password: "good-password-3", fault: "dhcp_timeout" },
      { ssid: "Slow", password: "good-password-4", fault: "slow_join" },
    ]);
  });

  it("reports bad lines by number without quoting them", () => {
    const text = [
      "no-tab-secretpassword",
      "\tpassword-for-nothing",
      "Short\tshort",
      "X\tvalid-password\tmelt",
      "Home\tfirst-password",
      "Home\tsecond-password",
      "A\tb-password\tabsent\textra",
    ].join("\n");
    const { networks, problems } = parseWifiNetworksFile(text);
    expect(networks).toEqual([{ ssid: "Home", password: "first-password" }]);
    expect(problems.map((p) => p.line)).toEqual([1, 2, 3, 4, 6, 7]);
    const all = JSON.stringify(problems);
    for (const secret of ["secretpassword", "password-for-nothing", "second-password", "b-password"]) {
      expect(all).not.toContain(secret);
    }
  });

  it("never throws, and every network it returns is usable (property)", () => {
    const line = fc.oneof(
      fc.string(),
      fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}\t${b}`),
      fc.tuple(fc.string(), fc.string(), fc.string()).map(([a, b, c]) => `${a}\t${b}\t${c}`),
      fc.constantFrom("# comment", "", "\r", "\uFEFF", "Net\tpassword1", "Net\t\tabsent"),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.constantFrom("\n", "\r\n"), (lines, eol) => {
        const { networks, problems } = parseWifiNetworksFile(lines.join(eol));
        const ssids = new Set<string>();
        for (const n of networks) {
          expect(n.ssid.length).toBeGreaterThan(0);
          expect(Buffer.byteLength(n.ssid)).toBeLessThanOrEqual(32);
          expect(n.ssid).not.toMatch(/[\t\n\r]/);
          expect(n.password).not.toMatch(/[\t\n\r]/);
          expect(ssids.has(n.ssid)).toBe(false);
          ssids.add(n.ssid);
        }
        for (const p of problems) {
          expect(p.line).toBeGreaterThanOrEqual(1);
          expect(p.line).toBeLessThanOrEqual(lines.length);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("never quotes a password in a problem (property)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 6 }), (ssid, secret) => {
        fc.pre(!ssid.includes("\n") && !secret.includes("\n") && !ssid.startsWith("#"));
        const { problems } = parseWifiNetworksFile(`${ssid}\t${secret}\tbogus-fault`);
        for (const p of problems) expect(p.message).not.toContain(secret);
      }),
    );
  });
});

describe("SimulatedWifiManager", () => {
  function make(clock = new ManualClock()) {
    return { clock, wifi: new SimulatedWifiManager({ networks: parseWifiNetworksFile(FILE).networks, clock }) };
  }

  it("scans the networks on the air, absent ones excluded", async () => {
    const { wifi } = make();
    const nets = await wifi.scan();
    expect(nets.map((n) => n.ssid).sort()).toEqual(["Broken", "Cafe", "Home", "NoLease", "Slow"]);
    expect(nets.find((n) => n.ssid === "Cafe")?.auth).toBe("open");
    expect(nets.every((n) => /^[0-9a-f]{12}$/.test(n.bssid ?? ""))).toBe(true);
  });

  it("joins with the right password after the join delay, remembers and reports status", async () => {
    const { clock, wifi } = make();
    const result = await settle(clock, wifi.join({ ssid: "Home", password: "hunter2-hunter2" }));
    expect(result).toMatchObject({ ok: true, ssid: "Home" });
    expect(clock.monotonicMs()).toBe(1500);
    const status = await wifi.status();
    expect(status).toEqual({ connected: true, ssid: "Home", ip: (result as { ip: string }).ip });
    expect(wifi.rememberedNetworks()).toEqual(["Home"]);
    expect(await settle(clock, wifi.join({ ssid: "Cafe", password: "" }))).toMatchObject({ ok: true });
  });

  it.each([
    ["a wrong password", { ssid: "Home", password: "not-the-password" }, "auth_error"],
    ["a refused password", { ssid: "Broken", password: "good-password-1" }, "auth_error"],
    ["an unusable password", { ssid: "Home", password: "x" }, "auth_error"],
    ["an absent network", { ssid: "Away", password: "good-password-2" }, "ap_not_found"],
    ["an unknown network", { ssid: "Nowhere", password: "whatever-1" }, "ap_not_found"],
    ["a wrong BSSID", { ssid: "Home", password: "hunter2-hunter2", bssid: "00:11:22:33:44:55" }, "ap_not_found"],
    ["no DHCP lease", { ssid: "NoLease", password: "good-password-3" }, "dhcp_timeout"],
    ["a join slower than the budget", { ssid: "Slow", password: "good-password-4" }, "timeout"],
  ] as const)("answers %s with its failure and remembers nothing", async (_name, credentials, reason) => {
    const { clock, wifi } = make();
    await settle(clock, wifi.join({ ssid: "Home", password: "hunter2-hunter2" }));
    const result = await settle(clock, wifi.join(credentials, { timeoutMs: 20_000 }), 500);
    expect(result).toEqual({ ok: false, reason });
    expect(await wifi.status()).toEqual({ connected: false });
    const attempts = wifi.joinAttempts();
    expect(attempts).toHaveLength(2);
    expect(attempts[1]?.result).toEqual(result);
    expect(JSON.stringify(attempts)).not.toContain(credentials.password || "\u0000");
  });

  it("timings run on the injected clock", async () => {
    const { clock, wifi } = make();
    const start = clock.monotonicMs();
    await settle(clock, wifi.join({ ssid: "NoLease", password: "good-password-3" }, { timeoutMs: 8000 }));
    expect(clock.monotonicMs() - start).toBe(8000);
    const t = clock.monotonicMs();
    await settle(clock, wifi.join({ ssid: "Slow", password: "good-password-4" }, { timeoutMs: 60_000 }));
    expect(clock.monotonicMs() - t).toBe(30_000);
    expect(await wifi.status()).toMatchObject({ connected: true, ssid: "Slow" });
  });

  it("forget and runtime changes keep status consistent", async () => {
    const { clock, wifi } = make();
    await settle(clock, wifi.join({ ssid: "Home", password: "hunter2-hunter2" }));
    await wifi.forget("Cafe");
    expect(await wifi.status()).toMatchObject({ connected: true });
    await wifi.forget("Home");
    expect(await wifi.status()).toEqual({ connected: false });
    expect(wifi.rememberedNetworks()).toEqual([]);
    await settle(clock, wifi.join({ ssid: "Home", password: "hunter2-hunter2" }));
    wifi.removeNetwork("Home");
    expect(await wifi.status()).toEqual({ connected: false });
    wifi.setFault("Broken", undefined);
    expect(await settle(clock, wifi.join({ ssid: "Broken", password: "good-password-1" }))).toMatchObject({ ok: true });
    expect(() => wifi.setFault("Nope", "absent")).toThrow(/no such simulated network/);
  });

  it("aborts a join with the signal's reason", async () => {
    const { clock, wifi } = make();
    const controller = new AbortController();
    const p = wifi.join({ ssid: "Home", password: "hunter2-hunter2" }, { signal: controller.signal });
    controller.abort(new Error("stop"));
    await expect(settle(clock, p)).rejects.toThrow("stop");
  });

  it("loads from a file, and refuses a file with problems", async () => {
    const dir = await mkdtemp(join(tmpdir(), "triadkit-wifi-"));
    try {
      const good = join(dir, "good.tsv");
      await writeFile(good, FILE);
      const wifi = await SimulatedWifiManager.fromFile(good, { clock: new ManualClock() });
      expect((await wifi.scan()).length).toBe(5);
      const bad = join(dir, "bad.tsv");
      await writeFile(bad, "Home\thunter2-hunter2\nOops no tab secret-ish\n");
      const error = await SimulatedWifiManager.fromFile(bad).catch((e: unknown) => e);
      expect(isTriadkitError(error, "config.invalid")).toBe(true);
      expect(JSON.stringify(error)).not.toContain("secret-ish");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
