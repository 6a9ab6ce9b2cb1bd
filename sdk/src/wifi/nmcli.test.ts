import { isTriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { FakeCommandRunner } from "./command-runner.js";
import {
  classifyNmcliFailure,
  NmcliWifiManager,
  nmcliSecurityToAuth,
  parseNmcliDeviceShow,
  parseNmcliWifiList,
  splitNmcliTerseLine,
} from "./nmcli.js";
import {
  NMCLI_CONNECT_OK,
  NMCLI_DEVICE_SHOW_CONNECTED,
  NMCLI_DEVICE_SHOW_DISCONNECTED,
  NMCLI_DHCP_FAILED,
  NMCLI_NO_ASK_WARNING,
  NMCLI_NO_SUCH_SSID,
  NMCLI_NODE_WIFI_FIELDS,
  NMCLI_NODE_WIFI_SCAN,
  NMCLI_NOT_AUTHORIZED,
  NMCLI_SCAN_SAMPLE,
  NMCLI_SSID_NOT_FOUND_53,
  NMCLI_TIMEOUT,
  NMCLI_WRONG_KEY,
  NMCLI_WRONG_KEY_NUMBERED,
} from "./wifi-samples.data.js";

const PASSWORD = "c0rrect-h0rse:battery";

function manager(fake: FakeCommandRunner, iface: string | undefined = "wlan0") {
  return new NmcliWifiManager({ runner: fake, ...(iface === undefined ? {} : { iface }) });
}

function expectNoSecret(fake: FakeCommandRunner, secret: string) {
  for (const arg of fake.allArgs()) expect(arg).not.toContain(secret);
}

describe("nmcli terse parsing", () => {
  it("splits on unescaped colons and unescapes \\: and \\\\", () => {
    expect(splitNmcliTerseLine(String.raw`My\:Net:AA\:BB:6:50:WPA2`)).toEqual(["My:Net", "AA:BB", "6", "50", "WPA2"]);
    expect(splitNmcliTerseLine(String.raw`back\\slash::`)).toEqual(["back\\slash", "", ""]);
  });

  it("parses the node-wifi capture with its own field list", () => {
    const nets = parseNmcliWifiList(NMCLI_NODE_WIFI_SCAN, NMCLI_NODE_WIFI_FIELDS);
    expect(nets).toHaveLength(13); // 14 lines, one hidden
    expect(nets[0]).toEqual({ ssid: "Linksys01777", bssid: "3123031a9f1c", rssi: -40, channel: 11, auth: "wpa2_psk" });
    expect(nets.find((n) => n.ssid === "Linksys01777-invité")?.auth).toBe("open");
    expect(nets.find((n) => n.ssid === "Linksys01777_5GHz")).toMatchObject({ channel: 36, rssi: -55 });
    expect(nets.at(-1)).toMatchObject({ ssid: "BELL320", bssid: "a16abbe9fce6", rssi: -85, channel: 1 });
  });

  it("parses our five-column scan and sorts by signal", () => {
    const nets = parseNmcliWifiList(NMCLI_SCAN_SAMPLE);
    expect(nets.map((n) => n.ssid)).toEqual([
      "Linksys01777",
      "Linksys01777-invité",
      "EBOX_6070",
      "Linksys01777_5GHz",
      "NERMNET",
      "BELL320",
    ]);
    expect(nets.map((n) => n.rssi)).toEqual([-40, -40, -40, -55, -62, -85]);
  });

  it("maps SECURITY to auth", () => {
    expect(nmcliSecurityToAuth("")).toBe("open");
    expect(nmcliSecurityToAuth("--")).toBe("open");
    expect(nmcliSecurityToAuth("WPA1 WPA2")).toBe("wpa2_psk");
    expect(nmcliSecurityToAuth("WPA2 802.1X")).toBe("wpa2_enterprise");
    expect(nmcliSecurityToAuth("WPA3")).toBe("wpa3_sae");
    expect(nmcliSecurityToAuth("WPA1")).toBe("wpa_psk");
    expect(nmcliSecurityToAuth("WEP")).toBe("wep");
  });

  it("reads state, connection and address from device show", () => {
    expect(parseNmcliDeviceShow(NMCLI_DEVICE_SHOW_CONNECTED)).toEqual({
      state: 100,
      connection: "SomeSSID",
      ip4: "192.168.1.2",
    });
    expect(parseNmcliDeviceShow(NMCLI_DEVICE_SHOW_DISCONNECTED)).toEqual({
      state: 30,
      connection: undefined,
      ip4: undefined,
    });
  });

  it("classifies nmcli failures", () => {
    expect(classifyNmcliFailure(4, NMCLI_WRONG_KEY)).toBe("auth_error");
    expect(classifyNmcliFailure(4, NMCLI_WRONG_KEY_NUMBERED)).toBe("auth_error");
    expect(classifyNmcliFailure(4, NMCLI_NO_ASK_WARNING + NMCLI_WRONG_KEY)).toBe("auth_error");
    expect(classifyNmcliFailure(10, NMCLI_NO_SUCH_SSID)).toBe("ap_not_found");
    expect(classifyNmcliFailure(4, NMCLI_SSID_NOT_FOUND_53)).toBe("ap_not_found");
    expect(classifyNmcliFailure(4, NMCLI_DHCP_FAILED)).toBe("dhcp_timeout");
    expect(classifyNmcliFailure(3, NMCLI_TIMEOUT)).toBe("timeout");
    expect(classifyNmcliFailure(4, "Error: Connection activation failed: (1) Unknown error.")).toBe("timeout");
    expect(classifyNmcliFailure(4, NMCLI_NOT_AUTHORIZED)).toBeUndefined();
    expect(classifyNmcliFailure(8, "Error: NetworkManager is not running.")).toBeUndefined();
  });
});

describe("NmcliWifiManager", () => {
  it("scans with --rescan yes on the interface", async () => {
    const fake = new FakeCommandRunner().on("nmcli", ["device", "wifi", "list"], { stdout: NMCLI_SCAN_SAMPLE });
    const nets = await manager(fake).scan();
    expect(nets).toHaveLength(6);
    expect(fake.calls[0]?.args).toEqual([
      "-t",
      "-f",
      "SSID,BSSID,CHAN,SIGNAL,SECURITY",
      "device",
      "wifi",
      "list",
      "ifname",
      "wlan0",
      "--rescan",
      "yes",
    ]);
    expect(fake.calls[0]?.env).toEqual({ LC_ALL: "C" });
  });

  it("joins with the password on stdin only, then reads the address", async () => {
    const fake = new FakeCommandRunner()
      .on("nmcli", ["connection", "delete"], { code: 10, stderr: "Error: unknown connection 'Home'." })
      .on("nmcli", ["device", "wifi", "connect"], { stdout: NMCLI_CONNECT_OK })
      .on("nmcli", ["device", "show", "wlan0"], { stdout: NMCLI_DEVICE_SHOW_CONNECTED });
    const result = await manager(fake).join({ ssid: "Home", password: PASSWORD, bssid: "AA:BB:CC:DD:EE:FF" });
    expect(result).toEqual({ ok: true, ip: "192.168.1.2", ssid: "Home", bssid: "aabbccddeeff" });
    const connect = fake.calls.find((c) => c.args.includes("connect"));
    expect(connect?.args).toEqual([
      "--ask",
      "--wait",
      "45",
      "device",
      "wifi",
      "connect",
      "Home",
      "ifname",
      "wlan0",
      "bssid",
      "aa:bb:cc:dd:ee:ff",
    ]);
    expect(connect?.input).toBe(`${PASSWORD}\n`);
    expectNoSecret(fake, PASSWORD);
  });

  it("joins an open network without --ask and without input", async () => {
    const fake = new FakeCommandRunner()
      .on("nmcli", ["connection", "delete"], { code: 10 })
      .on("nmcli", ["connect"], { stdout: NMCLI_CONNECT_OK })
      .on("nmcli", ["device", "show"], { stdout: NMCLI_DEVICE_SHOW_CONNECTED });
    const result = await manager(fake, undefined).join({ ssid: "Cafe", password: "" });
    expect(result.ok).toBe(true);
    const connect = fake.calls.find((c) => c.args.includes("connect"));
    expect(connect?.args).not.toContain("--ask");
    expect(connect?.input).toBeUndefined();
    // The interface comes from nmcli's success line when none was configured.
    expect(fake.calls.at(-1)?.args.at(-1)).toBe("wlan0");
  });

  it.each([
    [NMCLI_WRONG_KEY_NUMBERED, 4, "auth_error"],
    [NMCLI_NO_ASK_WARNING + NMCLI_WRONG_KEY, 4, "auth_error"],
    [NMCLI_NO_SUCH_SSID, 10, "ap_not_found"],
    [NMCLI_SSID_NOT_FOUND_53, 4, "ap_not_found"],
    [NMCLI_DHCP_FAILED, 4, "dhcp_timeout"],
    [NMCLI_TIMEOUT, 3, "timeout"],
  ] as const)("maps %j (exit %d) to %s and deletes the failed profile", async (stderr, code, reason) => {
    const fake = new FakeCommandRunner()
      .on("nmcli", ["connection", "delete"], { code: 10 })
      .on("nmcli", ["connect"], { code, stderr });
    const result = await manager(fake).join({ ssid: "Home", password: PASSWORD });
    expect(result).toEqual({ ok: false, reason });
    const deletes = fake.calls.filter((c) => c.args.includes("delete"));
    expect(deletes).toHaveLength(2); // before (stale profile) and after (the failed one)
    expectNoSecret(fake, PASSWORD);
  });

  it("answers auth_error for a password no WPA network accepts, without running nmcli", async () => {
    const fake = new FakeCommandRunner();
    expect(await manager(fake).join({ ssid: "Home", password: "short" })).toEqual({ ok: false, reason: "auth_error" });
    expect(await manager(fake).join({ ssid: "Home", password: "line\nbreak-password" })).toEqual({
      ok: false,
      reason: "auth_error",
    });
    expect(fake.calls).toHaveLength(0);
  });

  it("answers dhcp_timeout when activation reports success but the device has no IPv4 address", async () => {
    const fake = new FakeCommandRunner()
      .on("nmcli", ["connection", "delete"], { code: 0 })
      .on("nmcli", ["connect"], { stdout: NMCLI_CONNECT_OK })
      .on("nmcli", ["device", "show"], { stdout: "GENERAL.STATE:100 (connected)\nGENERAL.CONNECTION:Home\n" });
    expect(await manager(fake).join({ ssid: "Home", password: PASSWORD })).toEqual({
      ok: false,
      reason: "dhcp_timeout",
    });
  });

  it("raises wifi.command_failed for a non-network failure, never quoting the password", async () => {
    const fake = new FakeCommandRunner()
      .on("nmcli", ["connection", "delete"], { code: 10 })
      // A hostile or buggy tool echoing the secret: it must be scrubbed from the error.
      .on("nmcli", ["connect"], { code: 4, stderr: `${NMCLI_NOT_AUTHORIZED}input was ${PASSWORD}` });
    const error = await manager(fake)
      .join({ ssid: "Home", password: PASSWORD })
      .catch((e: unknown) => e);
    expect(isTriadkitError(error, "wifi.command_failed")).toBe(true);
    expect(JSON.stringify(error)).not.toContain(PASSWORD);
    expect(String(error)).not.toContain(PASSWORD);
  });

  it("status reads device, address and active SSID", async () => {
    const fake = new FakeCommandRunner()
      .on("nmcli", ["device", "status"], {
        stdout: "eth0:ethernet:connected\nwlan0:wifi:connected\nlo:loopback:unmanaged\n",
      })
      .on("nmcli", ["device", "show", "wlan0"], { stdout: NMCLI_DEVICE_SHOW_CONNECTED })
      .on("nmcli", ["ACTIVE,SSID"], { stdout: "no:Other\nyes:Some\\:SSID\n" });
    expect(await manager(fake, undefined).status()).toEqual({ connected: true, ssid: "Some:SSID", ip: "192.168.1.2" });
  });

  it("status is disconnected for a disconnected device", async () => {
    const fake = new FakeCommandRunner().on("nmcli", ["device", "show"], { stdout: NMCLI_DEVICE_SHOW_DISCONNECTED });
    expect(await manager(fake).status()).toEqual({ connected: false });
  });

  it("forget deletes the profile and tolerates an unknown one", async () => {
    const fake = new FakeCommandRunner().on("nmcli", ["connection", "delete"], { code: 10 }, { code: 0 });
    await manager(fake).forget("Home");
    await manager(fake).forget("Home");
    expect(fake.calls.map((c) => c.args)).toEqual([
      ["connection", "delete", "id", "Home"],
      ["connection", "delete", "id", "Home"],
    ]);
    const failing = new FakeCommandRunner().on("nmcli", ["delete"], {
      code: 8,
      stderr: "Error: NetworkManager is not running.",
    });
    await expect(manager(failing).forget("Home")).rejects.toMatchObject({ code: "wifi.command_failed" });
  });
});
