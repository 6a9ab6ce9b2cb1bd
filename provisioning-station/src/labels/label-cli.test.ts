/** `triadkit-station label print|scan` as an operator runs it: the real bin, spawned with node, on a real ledger. */
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseLabelPayload } from "@triadkit/protocol";
import jsqr from "jsqr";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LabelDevice, type LabelStation, labelStation } from "./__tests__/label-station.js";

const bin = fileURLToPath(new URL("../../bin/triadkit-station.js", import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let h: LabelStation;
let d: LabelDevice;
let other: LabelDevice;
const outputs: string[] = [];

/** Runs the CLI to completion (async, so a printer in this process can answer), `stdin` piped in. */
function station(args: readonly string[], stdin = "", options: { keepStdinOpen?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args, "--db", h.dbPath, "--operator", "line-4"], {
      cwd: h.dir,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += c;
    });
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      outputs.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
    // A keyboard-wedge scanner types a line and Enter but never closes stdin.
    if (options.keepStdinOpen) child.stdin.write(stdin);
    else child.stdin.end(stdin);
  });
}

function decodePng(file: string): string | undefined {
  const image = PNG.sync.read(readFileSync(file));
  return jsqr.default(new Uint8ClampedArray(image.data), image.width, image.height)?.data;
}

beforeAll(async () => {
  h = await labelStation();
  d = await h.device({ chipId: "c11e0001", shelfCode: "8F6A77C73E" });
  other = await h.device({ chipId: "c11e0002" });
  await h.device({ chipId: "c11e0003", state: "written" });
  await h.release();
}, 60_000);

afterAll(async () => {
  await h.close();
});

describe("triadkit-station label", () => {
  it("prints a device label to a PNG file (0600) whose QR decodes to the payload; a second print needs --reprint --reason", async () => {
    const file = join(h.dir, "device.png");
    const r = await station(["label", "print", "--chip", d.chipId, "--out", file, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      ok: true,
      printed: [{ action: "label.print", kind: "device", format: "png", chipId: d.chipId, prints: 1 }],
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const payload = parseLabelPayload(decodePng(file) as string);
    expect(payload).toMatchObject({ kind: "device", pop: d.pop, shelfCode: "8F6A77C73E" });

    const again = await station(["label", "print", "--chip", d.chipId, "--out", file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("label.already_printed");
    const noReason = await station(["label", "print", "--chip", d.chipId, "--out", file, "--reprint"]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain("--reason");
    const reprint = await station([
      "label",
      "print",
      "--triad",
      d.triadId,
      "--out",
      h.dir,
      "--format",
      "zpl",
      "--dpi",
      "300",
      "--reprint",
      "--reason",
      "smudged",
    ]);
    expect(reprint.code, reprint.stderr).toBe(0);
    expect(reprint.stdout).toContain("reprint #2");
    const zpl = readFileSync(join(h.dir, `device-${d.chipId}.zpl`), "utf8");
    expect(zpl).toMatch(/^\^XA\n\^CI28\n/);
  });

  it("refuses a device not verified yet, and usage errors exit 2", async () => {
    const written = await station(["label", "print", "--chip", "c11e0003", "--out", join(h.dir, "w.png"), "--json"]);
    expect(written.code).toBe(1);
    expect(JSON.parse(written.stdout)).toMatchObject({ ok: false, error: { code: "label.not_verified" } });
    for (const args of [
      ["label", "print", "--chip", d.chipId],
      ["label", "print", "--work-order", "WO-A", "--out", h.dir],
      ["label", "print", "--chip", d.chipId, "--printer", "127.0.0.1", "--format", "png"],
    ]) {
      const r = await station(args);
      expect(r.code, args.join(" ")).toBe(2);
    }
    const help = await station(["label", "print", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--printer <host[:port]>");
  });

  it("sends a carton label batch to a raw TCP printer on port 0", async () => {
    const jobs: Promise<string>[] = [];
    const server: Server = createServer((socket) => {
      jobs.push(
        new Promise((resolve) => {
          let data = "";
          socket.on("data", (c) => {
            data += c;
          });
          socket.on("end", () => resolve(data));
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await station([
        "label",
        "print",
        "--work-order",
        "WO-A",
        "--all-verified",
        "--kind",
        "carton",
        "--printer",
        `127.0.0.1:${port}`,
        "--json",
      ]);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.printed.map((p: { chipId: string }) => p.chipId).sort()).toEqual([d.chipId, other.chipId].sort());
      expect(jobs).toHaveLength(2);
      for (const job of jobs) {
        const zpl = await job;
        expect(zpl).toContain("^BQN,2,");
        expect(zpl).not.toContain("TKP1");
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("checks a scanned label read from stdin: OK for its own, exit 1 naming the field for another's", async () => {
    const payload = decodePng(join(h.dir, "device.png")) as string;
    const ok = await station(["label", "scan", "--chip", d.chipId, "--json"], `${payload}\r\n`, {
      keepStdinOpen: true,
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, chipId: d.chipId, shelfCode: "8F6A77C73E" });
    const wrong = await station(["label", "scan", "--chip", other.chipId], `${payload}\n`);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("label.scan_mismatch");
    expect(wrong.stderr).toContain("identity differs");
    const empty = await station(["label", "scan", "--chip", d.chipId], "\n");
    expect(empty.code).toBe(2);
  });

  it("never printed a PoP or a device secret on stdout or stderr", () => {
    const all = outputs.join("\n");
    for (const secret of [d.secret, other.secret, d.popText, other.popText, d.popText.slice(5)]) {
      expect(all.includes(secret)).toBe(false);
    }
  });
});
