import { isTriadkitError } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import { FakeCommandRunner, NodeCommandRunner } from "./command-runner.js";

const node = process.execPath;

describe("NodeCommandRunner (real processes: node itself)", () => {
  const runner = new NodeCommandRunner({ killGraceMs: 500 });

  it("passes input on stdin and collects stdout, stderr and the exit code", async () => {
    const script =
      "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{process.stdout.write(s.toUpperCase());" +
      "process.stderr.write('e');process.exit(3)})";
    const r = await runner.run(node, ["-e", script], { input: "secret line\n", timeoutMs: 10_000 });
    expect(r).toEqual({ stdout: "SECRET LINE\n", stderr: "e", code: 3, timedOut: false });
  });

  it("kills a program that outlives its timeout", async () => {
    const r = await runner.run(node, ["-e", "setInterval(()=>{},1000)"], { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.code).toBeNull();
  });

  it("keeps stdin open until endInputWhen matches the output", async () => {
    // Echoes each line; exits when stdin ends, like an interactive wpa_cli.
    const script =
      "process.stdin.setEncoding('utf8');process.stdin.on('data',d=>process.stdout.write('got '+d));" +
      "setTimeout(()=>process.stdout.write('<3>CTRL-EVENT-CONNECTED\\n'),200);process.stdin.on('end',()=>process.exit(0))";
    const r = await runner.run(node, ["-e", script], {
      input: "hello\n",
      timeoutMs: 10_000,
      endInputWhen: (out) => out.includes("CTRL-EVENT-CONNECTED"),
    });
    expect(r.stdout).toBe("got hello\n<3>CTRL-EVENT-CONNECTED\n");
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(0);
  });

  it("ends stdin (gracefully) when the timeout comes before endInputWhen matches", async () => {
    const script = "process.stdin.resume();process.stdin.on('end',()=>{process.stdout.write('bye');process.exit(0)})";
    const r = await runner.run(node, ["-e", script], { input: "", timeoutMs: 300, endInputWhen: () => false });
    expect(r).toMatchObject({ stdout: "bye", code: 0, timedOut: true });
  });

  it("sets and removes environment variables", async () => {
    const r = await runner.run(
      node,
      ["-e", "process.stdout.write(String(process.env.A)+'|'+String(process.env.HOME))"],
      {
        timeoutMs: 10_000,
        env: { A: "x", HOME: undefined },
      },
    );
    expect(r.stdout).toBe("x|undefined");
  });

  it("rejects with wifi.command_failed naming only the program when it cannot start", async () => {
    const error = await runner
      .run("/nonexistent/nmcli", ["--ask", "secret-arg"], { input: "secret-input\n", timeoutMs: 1000 })
      .catch((e: unknown) => e);
    expect(isTriadkitError(error, "wifi.command_failed")).toBe(true);
    expect(JSON.stringify(error)).not.toContain("secret");
    expect((error as { context: unknown }).context).toEqual({ command: "/nonexistent/nmcli", errno: "ENOENT" });
  });

  it("rejects with the abort reason and stops the child", async () => {
    const controller = new AbortController();
    const p = runner.run(node, ["-e", "setInterval(()=>{},1000)"], { timeoutMs: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error("cancelled")), 100);
    await expect(p).rejects.toThrow("cancelled");
  });
});

describe("FakeCommandRunner", () => {
  it("matches argument subsequences in rule order, repeats the last response, records calls", async () => {
    const fake = new FakeCommandRunner()
      .on("wpa_cli", ["scan_results"], { stdout: "r" })
      .on("wpa_cli", ["scan"], { stdout: "1" }, { stdout: "2" });
    const opts = { timeoutMs: 1 };
    expect((await fake.run("wpa_cli", ["-i", "wlan0", "scan"], opts)).stdout).toBe("1");
    expect((await fake.run("wpa_cli", ["-i", "wlan0", "scan"], opts)).stdout).toBe("2");
    expect((await fake.run("wpa_cli", ["-i", "wlan0", "scan"], opts)).stdout).toBe("2");
    expect((await fake.run("wpa_cli", ["scan_results"], opts)).stdout).toBe("r");
    await expect(fake.run("nmcli", ["scan"], opts)).rejects.toThrow(/no recorded output/);
    expect(fake.calls).toHaveLength(5);
  });

  it("reports a timeout when endInputWhen never matches the recorded output", async () => {
    const fake = new FakeCommandRunner().on("x", [], { stdout: "nothing yet" });
    const r = await fake.run("x", [], { timeoutMs: 1, endInputWhen: (s) => s.includes("done") });
    expect(r.timedOut).toBe(true);
  });
});
