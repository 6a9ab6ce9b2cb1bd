#!/usr/bin/env node
// triadkit-sim: runs the built CLI when there is one (dist/cli/main.js), otherwise the TypeScript sources
// through tsx, so it works from a clean clone with no build step. Workspace packages then resolve to their
// sources through the "source" export condition (the same as `node --conditions=source`).
import { existsSync } from "node:fs";
import { register } from "node:module";

const built = new URL("../dist/cli/main.js", import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register: registerTsx } = await import("tsx/esm/api");
  registerTsx();
  // Registered after tsx, so it runs first and hands tsx (and Node) the extra condition.
  const hook =
    'export async function resolve(s, c, next) { return next(s, { ...c, conditions: [...new Set([...c.conditions, "source"])] }); }';
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
