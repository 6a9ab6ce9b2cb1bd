import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitError } from "@triadkit/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadTopCredentials, saveTopCredentials, TOP_CREDENTIALS_FORMAT } from "./credentials.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "top-creds-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: unknown, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  chmodSync(path, mode);
  return path;
}

const FILE = {
  format: TOP_CREDENTIALS_FORMAT,
  version: 1,
  appKey: "25018990",
  appSecret: "the-app-secret",
  session: "6100a192feee65091a49",
  refreshToken: "610091912fe98b82e",
  sessionExpiresAt: "2026-05-02T00:00:00.000Z",
};

describe("TOP credentials file", () => {
  it("loads a 0600 file", () => {
    expect(loadTopCredentials(write("c.json", FILE))).toEqual({
      appKey: "25018990",
      appSecret: "the-app-secret",
      session: "6100a192feee65091a49",
      refreshToken: "610091912fe98b82e",
      sessionExpiresAtMs: Date.parse("2026-05-02T00:00:00.000Z"),
    });
    const { session: _s, refreshToken: _r, sessionExpiresAt: _e, ...appOnly } = FILE;
    expect(loadTopCredentials(write("app.json", appOnly))).toEqual({ appKey: "25018990", appSecret: "the-app-secret" });
  });

  it.skipIf(process.platform === "win32")("refuses a file group or others can read", () => {
    for (const mode of [0o640, 0o604, 0o660]) {
      const err = expectTriadkitError(
        () => loadTopCredentials(write(`m${mode}.json`, FILE, mode)),
        "top.bad_credentials",
      );
      expect(err.message).toContain("chmod 600");
    }
  });

  it("refuses missing, non-JSON, foreign and incomplete files without echoing values", () => {
    const cases = [
      join(dir, "missing.json"),
      write("text.json", "appKey=1"),
      write("array.json", []),
      write("format.json", { ...FILE, format: "other" }),
      write("version.json", { ...FILE, version: 2 }),
      write("nokey.json", { ...FILE, appKey: undefined }),
      write("spaces.json", { ...FILE, session: "has space" }),
      write("time.json", { ...FILE, sessionExpiresAt: "tomorrow" }),
    ];
    for (const path of cases) {
      const err = expectTriadkitError(() => loadTopCredentials(path), "top.bad_credentials");
      expect(JSON.stringify(err.toJSON())).not.toContain("the-app-secret");
    }
  });

  it("saves atomically with mode 0600 and reads back the same", () => {
    const path = join(dir, "saved.json");
    const creds = {
      appKey: "1",
      appSecret: "s-e-c-r-e-t",
      session: "S2",
      refreshToken: "R2",
      sessionExpiresAtMs: Date.UTC(2026, 0, 1),
    };
    saveTopCredentials(path, creds);
    if (process.platform !== "win32") expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(loadTopCredentials(path)).toEqual(creds);
    expect(JSON.parse(readFileSync(path, "utf8")).format).toBe(TOP_CREDENTIALS_FORMAT);
    saveTopCredentials(path, { appKey: "1", appSecret: "s-e-c-r-e-t" });
    expect(loadTopCredentials(path)).toEqual({ appKey: "1", appSecret: "s-e-c-r-e-t" });
    expectTriadkitError(() => saveTopCredentials(join(dir, "no", "such", "dir.json"), creds), "top.bad_credentials");
  });
});
