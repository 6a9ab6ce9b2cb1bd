import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isTriadkitError } from "@triadkit/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Children, lineStarting } from "./children.js";

let dir: string;
let children: Children;
const script = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "triadkit-demo-children-"));
  children = new Children(dir);
  // Like a station command failing with --json: the code on stdout, a human line on stderr.
  await writeFile(
    script("fail.mjs"),
    'console.log(JSON.stringify({ ok: false, error: { code: "label.not_verified" } }));\n' +
      'console.error("triadkit-station: not verified (label.not_verified)");\nprocess.exit(1);\n',
  );
  await writeFile(script("ok.mjs"), 'console.log("done");\n');
  // A parent that starts a grandchild which would run for a minute, then waits.
  await writeFile(
    script("parent.mjs"),
    'import { spawn } from "node:child_process";\n' +
      'const g = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });\n' +
      "console.log('READY grandchild ' + g.pid);\nsetInterval(() => {}, 1000);\n",
  );
});
afterAll(async () => {
  await children.stopAll();
  await rm(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("demo children", () => {
  it("run resolves with the output of a child that exits 0", async () => {
    const r = await children.run("ok", script("ok.mjs"), []);
    expect(r).toMatchObject({ code: 0, stdout: "done\n" });
  });

  it("a child exiting non-zero is demo.step_failed with the child's own code as cause", async () => {
    const err = await children.run("label print", script("fail.mjs"), []).catch((e: unknown) => e);
    expect(isTriadkitError(err) && err.code).toBe("demo.step_failed");
    expect(isTriadkitError(err) && err.context).toMatchObject({ step: "label print", cause: "label.not_verified" });
    expect((err as Error).message).toContain("exited 1");
  });

  it("stop ends the child's whole process group, grandchildren included", async () => {
    const parent = children.start("parent", script("parent.mjs"), []);
    const line = await lineStarting(parent, "READY grandchild ", 15_000);
    const grandchild = Number(line.split(" ").at(-1));
    expect(alive(grandchild)).toBe(true);
    await children.stop(parent);
    await expect.poll(() => alive(grandchild), { timeout: 5_000 }).toBe(false);
  });

  it("waiting for a line the child never prints fails as soon as it exits", async () => {
    const child = children.start("ok", script("ok.mjs"), []);
    const err = await lineStarting(child, "READY ", 15_000).catch((e: unknown) => e);
    expect(isTriadkitError(err) && err.code).toBe("demo.step_failed");
    expect((err as Error).message).toMatch(/no "READY " line: exited 0/);
  });
});
