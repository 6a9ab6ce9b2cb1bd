import { isTriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { FakeCommandRunner } from "./command-runner.js";
import {
  WPA_EVENT_CONNECTED,
  WPA_EVENT_NETWORK_NOT_FOUND,
  WPA_EVENT_TEMP_DISABLED_CONN_FAILED,
  WPA_EVENT_TEMP_DISABLED_WRONG_KEY,
  WPA_EVENTS_WRONG_KEY_OLD,
  WPA_INTERACTIVE_BANNER,
  WPA_LIST_NETWORKS,
  WPA_SCAN_RESULTS_SAMPLE,
  WPA_STATUS_COMPLETED,
  WPA_STATUS_COMPLETED_NO_IP,
  WPA_STATUS_OPEN,
  WPA_STATUS_SCANNING,
  WPA_STATUS_SELECTED_INTERFACE,
} from "./wifi-samples.data.js";
import { frequencyToChannel, wpaLevelToDbm } from "./wifi-util.js";
import {
  classifyWpaEvents,
  decodeWpaString,
  parseWpaListNetworks,
  parseWpaScanResults,
  parseWpaStatus,
  WpaSupplicantWifiManager,
  wpaFlagsToAuth,
  wpaReplies,
} from "./wpa-supplicant.js";

const PASSWORD = 'pa ss"word 42';

/** Lets a manager run on a ManualClock: advances virtual time whenever a timer is pending. */
async function drive<T>(clock: ManualClock, promise: Promise<T>): Promise<T> {
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
    if (clock.pending() > 0) clock.advance(100);
  }
  const o = await outcome;
  if (o.failed) throw o.error;
  return o.value as T;
}

function session(stdout: string) {
  return { stdout: `${WPA_INTERACTIVE_BANNER}> ${stdout}` };
}

function ok(n: number) {
  return Array.from({ length: n }, () => "OK").join("\n");
}

function setup(clock = new ManualClock()) {
  const fake = new FakeCommandRunner()
    .on("wpa_cli", ["list_networks"], { stdout: WPA_LIST_NETWORKS })
    .on("wpa_cli", ["remove_network"], { stdout: "OK\n" })
    .on("wpa_cli", ["enable_network"], { stdout: "OK\n" })
    .on("wpa_cli", ["add_network"], { stdout: "2\n" })
    .on("wpa_cli", ["save_config"], { stdout: "OK\n" });
  const m = new WpaSupplicantWifiManager({ runner: fake, clock, iface: "wlan0" });
  return { fake, m, clock };
}

function expectNoSecret(fake: FakeCommandRunner) {
  for (const arg of fake.allArgs()) expect(arg).not.toContain("pa ss");
}

describe("wpa_cli parsing", () => {
  it("parses scan_results: channel from frequency, dBm, flags", () => {
    const nets = parseWpaScanResults(WPA_SCAN_RESULTS_SAMPLE);
    expect(nets).toHaveLength(5);
    expect(nets[0]).toEqual({
      ssid: "Canto do Chimarrao",
      bssid: "3431c4e1d397",
      rssi: -60,
      channel: 11,
      auth: "wpa2_psk",
    });
    expect(nets.find((n) => n.ssid === "WeirdNet")).toMatchObject({ channel: 3, auth: "wpa2_psk", rssi: -83 });
  });

  it("ignores banner, prompt and event lines around scan results", () => {
    const out = `${WPA_INTERACTIVE_BANNER}> scan_results\n<2>CTRL-EVENT-SCAN-RESULTS\n${WPA_SCAN_RESULTS_SAMPLE}> `;
    expect(parseWpaScanResults(out)).toHaveLength(5);
  });

  it("maps flags to auth", () => {
    expect(wpaFlagsToAuth("[WPA2-PSK-CCMP][ESS]")).toBe("wpa2_psk");
    expect(wpaFlagsToAuth("[WPA-PSK-TKIP][ESS]")).toBe("wpa_psk");
    expect(wpaFlagsToAuth("[WPA2-EAP-CCMP][ESS]")).toBe("wpa2_enterprise");
    expect(wpaFlagsToAuth("[WPA2-SAE-CCMP][ESS]")).toBe("wpa3_sae");
    expect(wpaFlagsToAuth("[WPA2-PSK+SAE-CCMP][ESS]")).toBe("wpa2_psk");
    expect(wpaFlagsToAuth("[WEP][ESS]")).toBe("wep");
    expect(wpaFlagsToAuth("[ESS]")).toBe("open");
  });

  it("converts levels and frequencies", () => {
    expect(wpaLevelToDbm(-52)).toBe(-52);
    expect(wpaLevelToDbm(208)).toBe(-48); // old WEXT unsigned byte
    expect(wpaLevelToDbm(70)).toBe(-58); // a quality percentage
    expect(frequencyToChannel(2412)).toBe(1);
    expect(frequencyToChannel(2484)).toBe(14);
    expect(frequencyToChannel(5180)).toBe(36);
    expect(frequencyToChannel(5745)).toBe(149);
    expect(frequencyToChannel(5955)).toBe(1);
    expect(frequencyToChannel(2413)).toBeUndefined();
  });

  it("parses status samples", () => {
    expect(parseWpaStatus(WPA_STATUS_COMPLETED)).toMatchObject({
      wpaState: "COMPLETED",
      ssid: "SLAM_AP",
      bssid: "9c9d7e893ca6",
      ipAddress: "192.168.31.199",
      networkId: 3,
    });
    expect(parseWpaStatus(WPA_STATUS_OPEN)).toMatchObject({ ssid: "User_AP", ipAddress: "192.168.43.2" });
    expect(parseWpaStatus(WPA_STATUS_SELECTED_INTERFACE)).toMatchObject({
      ssid: "moonraker",
      bssid: undefined,
      ipAddress: "192.168.1.224",
    });
    expect(parseWpaStatus(WPA_STATUS_COMPLETED_NO_IP).ipAddress).toBeUndefined();
  });

  it("decodes printf-escaped SSIDs", () => {
    expect(decodeWpaString("caf\\xc3\\xa9")).toBe("café");
    expect(decodeWpaString('a\\"b\\\\c')).toBe('a"b\\c');
  });

  it("parses list_networks and replies", () => {
    expect(parseWpaListNetworks(WPA_LIST_NETWORKS)).toEqual([
      { id: 0, ssid: "Home", flags: "[CURRENT]" },
      { id: 1, ssid: "Office", flags: "[DISABLED]" },
    ]);
    expect(wpaReplies(`${WPA_INTERACTIVE_BANNER}> OK\n> FAIL\n<3>CTRL-EVENT-SCAN-STARTED \nFAIL-BUSY\n`)).toEqual([
      "OK",
      "FAIL",
      "FAIL-BUSY",
    ]);
  });

  it("classifies events", () => {
    expect(classifyWpaEvents(WPA_EVENT_TEMP_DISABLED_WRONG_KEY).wrongKey).toBe(true);
    expect(classifyWpaEvents(WPA_EVENTS_WRONG_KEY_OLD).wrongKey).toBe(true);
    expect(classifyWpaEvents(WPA_EVENT_TEMP_DISABLED_CONN_FAILED).wrongKey).toBe(false);
    expect(classifyWpaEvents(WPA_EVENT_CONNECTED).connected).toBe(true);
    expect(classifyWpaEvents(`${WPA_EVENT_NETWORK_NOT_FOUND}\n${WPA_EVENT_NETWORK_NOT_FOUND}`).notFound).toBe(2);
  });
});

describe("WpaSupplicantWifiManager", () => {
  it("scans: scan, wait on the clock, scan_results", async () => {
    const clock = new ManualClock();
    const fake = new FakeCommandRunner()
      .on("wpa_cli", ["scan_results"], { stdout: WPA_SCAN_RESULTS_SAMPLE })
      .on("wpa_cli", ["scan"], { stdout: "OK\n" });
    const m = new WpaSupplicantWifiManager({
      runner: fake,
      clock,
      iface: "wlan0",
      ctrlPath: "/var/run/wpa_supplicant",
    });
    const nets = await drive(clock, m.scan());
    expect(nets).toHaveLength(5);
    expect(clock.monotonicMs()).toBeGreaterThanOrEqual(3000);
    expect(fake.calls.map((c) => c.args)).toEqual([
      ["-p", "/var/run/wpa_supplicant", "-i", "wlan0", "scan"],
      ["-p", "/var/run/wpa_supplicant", "-i", "wlan0", "scan_results"],
    ]);
  });

  it("joins: psk typed into an interactive session, never in argv; saves on success", async () => {
    const { fake, m, clock } = setup();
    fake
      .on(
        "wpa_cli",
        (args) => args.length === 2,
        session(`${ok(6)}\n<3>CTRL-EVENT-SCAN-RESULTS\n${WPA_EVENT_CONNECTED}\n`),
      )
      .on("wpa_cli", ["status"], { stdout: WPA_STATUS_COMPLETED });
    const result = await drive(clock, m.join({ ssid: "SLAM_AP", password: PASSWORD }));
    expect(result).toEqual({ ok: true, ip: "192.168.31.199", ssid: "SLAM_AP", bssid: "9c9d7e893ca6" });
    const interactive = fake.calls.find((c) => c.input !== undefined);
    expect(interactive?.args).toEqual(["-i", "wlan0"]);
    expect(interactive?.env).toEqual({ HOME: undefined });
    expect(interactive?.input).toBe(
      [
        `set_network 2 ssid ${Buffer.from("SLAM_AP").toString("hex")}`,
        `set_network 2 psk "${PASSWORD}"`,
        "set_network 2 scan_ssid 1",
        "enable_network 2",
        "select_network 2",
        "",
      ].join("\n"),
    );
    expect(fake.calls.at(-1)?.args).toEqual(["-i", "wlan0", "save_config"]);
    expectNoSecret(fake);
  });

  it("removes an older network with the same SSID first", async () => {
    const { fake, m, clock } = setup();
    fake
      .on("wpa_cli", (args) => args.length === 2, session(`${ok(5)}\n${WPA_EVENT_CONNECTED}\n`))
      .on("wpa_cli", ["status"], { stdout: WPA_STATUS_OPEN });
    const result = await drive(clock, m.join({ ssid: "Home", password: "" }));
    expect(result).toMatchObject({ ok: true, ip: "192.168.43.2" });
    expect(fake.calls[1]?.args).toEqual(["-i", "wlan0", "remove_network", "0"]);
    expect(fake.calls.find((c) => c.input !== undefined)?.input).toContain("set_network 2 key_mgmt NONE");
  });

  it.each([
    ["reason=WRONG_KEY", WPA_EVENT_TEMP_DISABLED_WRONG_KEY],
    ["a failed 4-way handshake", WPA_EVENTS_WRONG_KEY_OLD],
  ])("answers auth_error on %s, removes the network and re-enables the others", async (_name, events) => {
    const { fake, m, clock } = setup();
    fake.on("wpa_cli", (args) => args.length === 2, session(`${ok(6)}\n${events}\n`));
    const result = await drive(clock, m.join({ ssid: "SecNet", password: PASSWORD }));
    expect(result).toEqual({ ok: false, reason: "auth_error" });
    const tail = fake.calls.slice(-2).map((c) => c.args);
    expect(tail).toEqual([
      ["-i", "wlan0", "remove_network", "2"],
      ["-i", "wlan0", "enable_network", "0"],
    ]);
    expect(fake.calls.some((c) => c.args.includes("save_config"))).toBe(false);
    expectNoSecret(fake);
  });

  it("answers auth_error when wpa_supplicant refuses the passphrase itself", async () => {
    const { fake, m, clock } = setup();
    fake.on("wpa_cli", (args) => args.length === 2, session("OK\nFAIL\nOK\nOK\nOK\n"));
    expect(await drive(clock, m.join({ ssid: "SecNet", password: PASSWORD }))).toEqual({
      ok: false,
      reason: "auth_error",
    });
  });

  it("answers ap_not_found after repeated CTRL-EVENT-NETWORK-NOT-FOUND", async () => {
    const { fake, m, clock } = setup();
    const events = Array.from({ length: 3 }, () => WPA_EVENT_NETWORK_NOT_FOUND).join("\n");
    fake.on("wpa_cli", (args) => args.length === 2, session(`${ok(6)}\n${events}\n`));
    expect(await drive(clock, m.join({ ssid: "Gone", password: PASSWORD }))).toEqual({
      ok: false,
      reason: "ap_not_found",
    });
  });

  it("answers ap_not_found when the budget ends and the SSID is not in the scan results", async () => {
    const { fake, m, clock } = setup();
    fake
      .on("wpa_cli", (args) => args.length === 2, session(`${ok(6)}\n${WPA_EVENT_TEMP_DISABLED_CONN_FAILED}\n`))
      .on("wpa_cli", ["status"], { stdout: WPA_STATUS_SCANNING })
      .on("wpa_cli", ["scan_results"], { stdout: WPA_SCAN_RESULTS_SAMPLE });
    expect(await drive(clock, m.join({ ssid: "Gone", password: PASSWORD }))).toEqual({
      ok: false,
      reason: "ap_not_found",
    });
    const interactive = fake.calls.find((c) => c.input !== undefined);
    expect(interactive?.timeoutMs).toBe(45_000);
  });

  it("answers timeout when the budget ends and the SSID is on the air", async () => {
    const { fake, m, clock } = setup();
    fake
      .on("wpa_cli", (args) => args.length === 2, session(`${ok(6)}\n`))
      .on("wpa_cli", ["status"], { stdout: WPA_STATUS_SCANNING })
      .on("wpa_cli", ["scan_results"], { stdout: WPA_SCAN_RESULTS_SAMPLE });
    expect(await drive(clock, m.join({ ssid: "WeirdNet", password: PASSWORD }))).toEqual({
      ok: false,
      reason: "timeout",
    });
  });

  it("answers dhcp_timeout when associated but no ip_address comes (polling on the clock)", async () => {
    const { fake, m, clock } = setup();
    fake
      .on("wpa_cli", (args) => args.length === 2, session(`${ok(6)}\n${WPA_EVENT_CONNECTED}\n`))
      .on("wpa_cli", ["status"], { stdout: WPA_STATUS_COMPLETED_NO_IP });
    const result = await drive(clock, m.join({ ssid: "SLAM_AP", password: PASSWORD }, { timeoutMs: 5000 }));
    expect(result).toEqual({ ok: false, reason: "dhcp_timeout" });
    expect(fake.calls.filter((c) => c.args.includes("status")).length).toBeGreaterThan(5);
  });

  it("waits for the address after association", async () => {
    const { fake, m, clock } = setup();
    fake
      .on("wpa_cli", (args) => args.length === 2, session(`${ok(6)}\n${WPA_EVENT_CONNECTED}\n`))
      .on(
        "wpa_cli",
        ["status"],
        { stdout: WPA_STATUS_COMPLETED_NO_IP },
        { stdout: WPA_STATUS_COMPLETED_NO_IP },
        { stdout: WPA_STATUS_COMPLETED },
      );
    expect(await drive(clock, m.join({ ssid: "SLAM_AP", password: PASSWORD }))).toMatchObject({ ok: true });
  });

  it("raises wifi.command_failed when wpa_cli cannot reach wpa_supplicant, without the password", async () => {
    const fake = new FakeCommandRunner().on("wpa_cli", ["list_networks"], {
      code: 255,
      stdout: "Failed to connect to non-global ctrl_ifname: wlan0  error: No such file or directory\n",
    });
    const m = new WpaSupplicantWifiManager({ runner: fake, clock: new ManualClock(), iface: "wlan0" });
    const error = await m.join({ ssid: "X", password: PASSWORD }).catch((e: unknown) => e);
    expect(isTriadkitError(error, "wifi.command_failed")).toBe(true);
    expect(JSON.stringify(error)).not.toContain("pa ss");
  });

  it("scrubs the echoed passphrase from anything an error could quote", async () => {
    const { fake, m, clock } = setup();
    fake.on("wpa_cli", (args) => args.length === 2, {
      stdout: `> set_network 2 psk "${PASSWORD}"\nOK\nOK\nFAIL\n`,
      stderr: `echo ${PASSWORD}`,
      code: 0,
    });
    const error = await drive(clock, m.join({ ssid: "S", password: PASSWORD })).catch((e: unknown) => e);
    expect(isTriadkitError(error, "wifi.command_failed")).toBe(true);
    expect(JSON.stringify(error)).not.toContain("pa ss");
    expect(String(error)).not.toContain("pa ss");
  });

  it("status and forget", async () => {
    const fake = new FakeCommandRunner()
      .on("wpa_cli", ["status"], { stdout: WPA_STATUS_COMPLETED }, { stdout: WPA_STATUS_SCANNING })
      .on("wpa_cli", ["list_networks"], { stdout: WPA_LIST_NETWORKS })
      .on("wpa_cli", ["remove_network"], { stdout: "OK\n" })
      .on("wpa_cli", ["save_config"], { stdout: "OK\n" });
    const m = new WpaSupplicantWifiManager({ runner: fake, clock: new ManualClock() });
    expect(await m.status()).toEqual({ connected: true, ssid: "SLAM_AP", ip: "192.168.31.199" });
    expect(await m.status()).toEqual({ connected: false });
    await m.forget("Office");
    expect(fake.calls.slice(-2).map((c) => c.args)).toEqual([["remove_network", "1"], ["save_config"]]);
    await m.forget("Unknown");
    expect(fake.calls.at(-1)?.args).toEqual(["list_networks"]);
  });

  it("save_config failure is a command failure that names the likely cause", async () => {
    const fake = new FakeCommandRunner()
      .on("wpa_cli", ["list_networks"], { stdout: WPA_LIST_NETWORKS })
      .on("wpa_cli", ["remove_network"], { stdout: "OK\n" })
      .on("wpa_cli", ["save_config"], { stdout: "FAIL\n" });
    const m = new WpaSupplicantWifiManager({ runner: fake, clock: new ManualClock() });
    await expect(m.forget("Home")).rejects.toThrow(/update_config=1/);
  });
});
