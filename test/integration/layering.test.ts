import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkManifest, checkSource, checkWorkspace, importsOf } from "./layering.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("layering", () => {
  it("the workspace obeys protocol ← sdk ← firmware-sim / provisioning-station, and protocol does no I/O", () => {
    const { files, violations } = checkWorkspace(root);
    expect(files).toBeGreaterThan(10);
    expect(violations).toEqual([]);
  });

  it("finds every import form", () => {
    const src = [
      'import { a } from "./a.js";',
      "import type { B } from '@triadkit/sdk';",
      'export * from "./c.js";',
      'import "side-effect";',
      'const m = await import("node:fs");',
      'const r = require("serialport");',
      '// import { x } from "commented-out";',
      '/* import { y } from "block-commented"; */',
    ].join("\n");
    expect(importsOf(src)).toEqual(["./a.js", "@triadkit/sdk", "./c.js", "side-effect", "node:fs", "serialport"]);
  });

  it("catches I/O in protocol and upward or station imports", () => {
    expect(checkSource("protocol", "protocol/src/x.ts", 'import { readFileSync } from "node:fs";')).toMatchObject([
      { rule: "protocol_io", module: "node:fs" },
    ]);
    expect(checkSource("protocol", "protocol/src/x.ts", 'import mqtt from "mqtt";')).toHaveLength(1);
    expect(checkSource("protocol", "protocol/src/x.ts", 'import { SerialPort } from "serialport";')).toHaveLength(1);
    expect(checkSource("protocol", "protocol/src/x.ts", 'import { sha256 } from "@noble/hashes/sha2.js";')).toEqual([]);
    expect(checkSource("protocol", "protocol/src/x.ts", 'import { createDevice } from "@triadkit/sdk";')).toMatchObject(
      [{ rule: "upward_import" }],
    );
    expect(checkSource("sdk", "sdk/src/x.ts", 'import { x } from "@triadkit/firmware-sim";')).toHaveLength(1);
    expect(
      checkSource("firmware-sim", "firmware-sim/src/x.ts", 'import { x } from "@triadkit/provisioning-station";'),
    ).toHaveLength(1);
    expect(checkSource("provisioning-station", "p/src/x.ts", 'import { x } from "@triadkit/sdk";')).toEqual([]);
    expect(checkManifest("sdk", { dependencies: { "@triadkit/provisioning-station": "0.1.0" } })).toHaveLength(1);
    expect(checkManifest("sdk", { dependencies: { "@triadkit/protocol": "0.1.0" } })).toEqual([]);
  });
});
