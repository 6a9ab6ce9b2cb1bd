/**
 * The layering rules of triadkit, as data, and a checker over source text.
 * protocol ← sdk ← firmware-sim / provisioning-station; nothing imports the station; protocol does no I/O.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export const PACKAGES = ["protocol", "sdk", "firmware-sim", "provisioning-station"] as const;
export type PackageDir = (typeof PACKAGES)[number];

/** Which workspace packages each package may depend on. */
export const ALLOWED: Record<PackageDir, readonly PackageDir[]> = {
  protocol: [],
  sdk: ["protocol"],
  "firmware-sim": ["protocol", "sdk"],
  "provisioning-station": ["protocol", "sdk"],
};

/** Modules that do I/O (or load native I/O bindings) and so may not appear in protocol/src. */
export const IO_MODULES = [
  "fs",
  "fs/promises",
  "net",
  "tls",
  "dgram",
  "dns",
  "http",
  "https",
  "http2",
  "child_process",
  "cluster",
  "worker_threads",
  "readline",
  "os",
  "process",
  "serialport",
  "@serialport/",
  "mqtt",
  "aedes",
  "better-sqlite3",
  "pg",
  "ws",
  "@abandonware/noble",
  "@abandonware/bleno",
  "node-ble",
  "exceljs",
  "fastify",
  "pino",
];

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s*["']([^"']+)["']|(?:^|[\s;(])import\s*\(\s*["']([^"']+)["']\s*\)|(?:^|[\s;])import\s*["']([^"']+)["']|require\s*\(\s*["']([^"']+)["']\s*\)/gm;

/** Module specifiers imported by a TypeScript/JavaScript source text (comments are stripped first). */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
  const out: string[] = [];
  for (const m of code.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (spec) out.push(spec);
  }
  return out;
}

function isIoModule(spec: string): boolean {
  const bare = spec.startsWith("node:") ? spec.slice(5) : spec;
  return IO_MODULES.some((io) => (io.endsWith("/") ? bare.startsWith(io) : bare === io || bare.startsWith(`${io}/`)));
}

export interface Violation {
  readonly file: string;
  readonly module: string;
  readonly rule: "protocol_io" | "upward_import" | "undeclared_dependency";
}

/** Checks one source file of package `pkg`. Test files may import test-only helpers but never upwards. */
export function checkSource(pkg: PackageDir, file: string, source: string): Violation[] {
  const violations: Violation[] = [];
  const isTest = /\.test\.ts$/.test(file);
  for (const spec of importsOf(source)) {
    if (pkg === "protocol" && !isTest && isIoModule(spec)) violations.push({ file, module: spec, rule: "protocol_io" });
    const m = /^@triadkit\/([a-z-]+)/.exec(spec);
    if (m) {
      const target = m[1] as PackageDir;
      if (target !== pkg && !ALLOWED[pkg].includes(target))
        violations.push({ file, module: spec, rule: "upward_import" });
    }
  }
  return violations;
}

/** Checks a package.json's dependencies against {@link ALLOWED}. */
export function checkManifest(
  pkg: PackageDir,
  manifest: { dependencies?: object; devDependencies?: object },
): Violation[] {
  const deps = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})];
  return deps
    .filter((d) => d.startsWith("@triadkit/"))
    .filter((d) => !ALLOWED[pkg].includes(d.slice("@triadkit/".length) as PackageDir))
    .map((d) => ({ file: `${pkg}/package.json`, module: d, rule: "upward_import" as const }));
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "node_modules" || name === "dist" ? [] : walk(path);
    return /\.(ts|mts|js|mjs)$/.test(name) ? [path] : [];
  });
}

/** Checks the whole workspace under `root`. */
export function checkWorkspace(root: string): { files: number; violations: Violation[] } {
  let files = 0;
  const violations: Violation[] = [];
  for (const pkg of PACKAGES) {
    violations.push(...checkManifest(pkg, JSON.parse(readFileSync(join(root, pkg, "package.json"), "utf8"))));
    for (const file of walk(join(root, pkg, "src"))) {
      files++;
      violations.push(...checkSource(pkg, relative(root, file), readFileSync(file, "utf8")));
    }
  }
  // The cross-package test folder may import everything except that nothing imports the station at runtime.
  return { files, violations };
}
