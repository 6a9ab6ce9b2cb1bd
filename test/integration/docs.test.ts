import { readFileSync } from "node:fs";
import { ERROR_CODES, WARNING_CODES } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

describe("docs stay true", () => {
  it("docs/errors.md lists every error and warning code, and no code that does not exist", () => {
    const doc = read("docs/errors.md");
    const documented = new Set([...doc.matchAll(/^\|\s*`([a-z]+\.[a-z0-9_]+)`\s*\|/gm)].map((m) => m[1]));
    const all = [...ERROR_CODES, ...WARNING_CODES];
    expect(all.filter((c) => !documented.has(c))).toEqual([]);
    expect([...documented].filter((c) => !(all as readonly string[]).includes(c as string))).toEqual([]);
  });

  it("README names the set-up and test commands CI runs", () => {
    const readme = read("README.md");
    for (const cmd of ["npm install", "npm run demo", "npm test"]) expect(readme).toContain(cmd);
    const ci = read(".ci/run");
    for (const cmd of ["npm ci", "npm run lint", "npm run typecheck", "npm run build", "npm test", "npm run demo"]) {
      expect(ci).toContain(cmd);
    }
    expect(ci).toContain("TRIADKIT_REQUIRE_SERVICES=1");
  });
});
