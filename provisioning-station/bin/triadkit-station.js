#!/usr/bin/env node
// triadkit-station: runs the built CLI when there is one (dist/cli/main.js), otherwise the TypeScript sources through
// tsx, so it works from a clean clone with no build step. From sources, workspace packages resolve through their
// "source" export condition (as with `node --conditions=source`).
import { existsSync } from "node:fs";
import { register } from "node:module";

const built = new URL("../dist/cli/main.js", import.meta.url);
let entry = built;
if (!existsSync(built)) {
  const { register: registerTsx } = await import("tsx/esm/api");
  registerTsx();
  // Registered after tsx, so this hook runs first and passes the extra condition on to tsx and Node.
  const hook =
    'export async function resolve(s, c, next) { return next(s, { ...c, conditions: [...new Set([...c.conditions, "source"])] }); }';
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  entry = new URL("../src/cli/main.ts", import.meta.url);
}
const { main } = await import(entry.href);
const code = await main(process.argv);
process.exitCode = code;
// Everything is closed by now; do not let a stray handle keep a finished command alive.
setTimeout(() => process.exit(code), 2000).unref();
