/**
 * `triadkit-station products import|list|push|status`: the brand's product recommendation table (商品推荐表,
 * seed 001 §五). Import checks every row and is all or nothing; push sends each device the table it should hold (its
 * store's, else its brand's) through the platform emulator's admin endpoint and records what each device
 * acknowledged; status reads those records from the ledger.
 */
import { isTriadkitError, type ProductScope, parseProductScope, TriadkitError } from "@triadkit/protocol";
import { type CliIo, CliUsageError } from "@triadkit/sdk";
import type { Command } from "commander";
import type { Station } from "../ledger/open-station.js";
import { readProductSheet } from "../products/product-sheet.js";
import type { ProductDeviceStatus, ProductPushRecord, ProductTargetSelector } from "../products/product-store.js";
import { pushProductTable } from "../products/push-client.js";
import {
  parsePositiveInt,
  ReportedFailure,
  type StationCliOptions,
  stationOptions,
  table,
  withStation,
} from "./common.js";
import { rejectSheet } from "./sheet-rejection.js";

interface ScopeOptions extends StationCliOptions {
  readonly brand?: string;
  readonly store?: string;
}

interface ImportOptions extends ScopeOptions {
  readonly sheet?: string;
  readonly encoding?: string;
  readonly report?: string;
}

interface ListOptions extends ScopeOptions {
  readonly version?: number;
}

interface PushOptions extends ScopeOptions {
  readonly cloudAdmin: string;
  readonly workOrder?: string;
  readonly timeoutMs: number;
}

interface StatusOptions extends ScopeOptions {
  readonly workOrder?: string;
}

function scopeOf(options: ScopeOptions, required: true): ProductScope;
function scopeOf(options: ScopeOptions, required: false): ProductScope | undefined;
function scopeOf(options: ScopeOptions, required: boolean): ProductScope | undefined {
  if (options.brand !== undefined && options.store !== undefined) {
    throw new CliUsageError("give either --brand or --store, not both");
  }
  const given =
    options.brand !== undefined
      ? { type: "brand", id: options.brand }
      : options.store !== undefined
        ? { type: "store", id: options.store }
        : undefined;
  if (given === undefined) {
    if (required) throw new CliUsageError("give --brand <name> or --store <store id>");
    return undefined;
  }
  try {
    return parseProductScope(given);
  } catch (err) {
    if (isTriadkitError(err)) {
      throw new CliUsageError(
        given.type === "store" ? "--store must be a store id (digits)" : "--brand is 1–64 characters",
      );
    }
    throw err;
  }
}

const scopeText = (s: ProductScope) => `${s.type} ${s.id}`;
const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function scopeOption(cmd: Command): Command {
  return cmd.option("--brand <name>", "the brand (品牌)").option("--store <id>", "one store (门店id)");
}

function selectorOf(scope: ProductScope | undefined, workOrder: string | undefined): ProductTargetSelector | undefined {
  if (workOrder !== undefined) {
    if (scope === undefined) throw new CliUsageError("--work-order needs --brand or --store (whose table to push)");
    return { workOrderId: workOrder, scope };
  }
  if (scope === undefined) return undefined;
  return scope.type === "brand" ? { brand: scope.id } : { storeId: scope.id };
}

function statusJson(s: ProductDeviceStatus) {
  return {
    triadId: s.triadId,
    productKey: s.productKey,
    deviceName: s.deviceName,
    brand: s.brand ?? null,
    storeId: s.storeId ?? null,
    deviceCode: s.deviceCode ?? null,
    version: s.version ?? null,
    pushedVersion: s.pushedVersion ?? null,
    lastStatus: s.lastStatus ?? null,
    code: s.code ?? null,
    ackedVersion: s.ackedVersion ?? null,
    ackedAt: iso(s.ackedAt),
    pushedAt: iso(s.pushedAt),
    state: s.state,
  };
}

function registerImport(products: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>): void {
  stationOptions(
    scopeOption(
      products
        .command("import")
        .description(
          "import the brand's product table (.xlsx or .csv; columns 商品/链接 or name/url), all rows or none",
        )
        .argument("<file>", "the product recommendation sheet")
        .option("--sheet <name>", "xlsx: the sheet to read (default: the first with a 商品/链接 header)")
        .option("--encoding <label>", "CSV: force utf-8, gb18030 or gbk (default: detect)")
        .option("--report <file>", "where a rejected file's report goes (default: <file>.report.csv)"),
    ),
  ).action(async (file: string, options: ImportOptions) => {
    const scope = scopeOf(options, true);
    await withStation(options, io, env, async (station, actor) => {
      const sheet = await readProductSheet(file, {
        scope,
        ...(options.sheet === undefined ? {} : { sheet: options.sheet }),
        ...(options.encoding === undefined ? {} : { encoding: options.encoding }),
      });
      if (!sheet.ok) {
        return rejectSheet(io, station, actor, {
          reportPath: options.report ?? `${file}.report.csv`,
          fileName: sheet.file.name,
          issues: sheet.issues,
          moreIssues: sheet.moreIssues,
          rowsRead: sheet.rowsRead,
          details: {
            kind: "products",
            scope: `${scope.type}:${scope.id}`,
            fileName: sheet.file.name,
            sha256: sheet.file.sha256,
          },
          json: options.json === true,
        });
      }
      const imported = await productTables(station).importTable(
        { scope, rows: sheet.rows, fileName: sheet.file.name, fileSha256: sheet.file.sha256 },
        actor,
      );
      const { table: t, unchanged } = imported;
      const kinds = { tmall: 0, taobao: 0, other: 0 };
      for (const item of t.items) kinds[item.kind]++;
      if (options.json) {
        io.out(
          JSON.stringify({
            ok: true,
            unchanged,
            version: t.version,
            scope: t.scope,
            hash: t.hash,
            items: t.items.length,
            kinds,
            file: sheet.file,
          }),
        );
      } else if (unchanged) {
        io.out(`${sheet.file.name} is the same as version ${t.version} (${scopeText(t.scope)}): nothing imported`);
      } else {
        io.out(
          `imported ${t.items.length} products as version ${t.version} for ${scopeText(t.scope)} ` +
            `(${kinds.tmall} Tmall, ${kinds.taobao} Taobao, ${kinds.other} other links)`,
        );
        if (kinds.other > 0) io.err(`triadkit-station: note: ${kinds.other} link(s) are not Tmall/Taobao item links`);
      }
    });
  });
}

function registerList(products: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>): void {
  stationOptions(
    scopeOption(
      products
        .command("list")
        .description("product table versions (newest first), or one version's items with --version")
        .option("--version <n>", "show this version's items", parsePositiveInt),
    ),
  ).action(async (options: ListOptions) => {
    const scope = scopeOf(options, false);
    await withStation(options, io, env, async (station) => {
      const store = productTables(station);
      if (options.version !== undefined) {
        const t = store.get(options.version);
        if (t === undefined) throw new CliUsageError(`no product table version ${options.version}`);
        if (options.json) {
          io.out(JSON.stringify({ ok: true, version: t.version, scope: t.scope, hash: t.hash, items: t.items }));
          return;
        }
        io.out(`version ${t.version} for ${scopeText(t.scope)}, ${t.items.length} items, hash ${t.hash}`);
        const rows = t.items.map((i, n) => [String(n + 1), i.kind, i.itemId ?? "", i.name, i.url]);
        for (const line of table([["#", "kind", "item id", "name", "url"], ...rows])) io.out(line);
        return;
      }
      const tables = store.list(scope);
      if (options.json) {
        io.out(
          JSON.stringify({
            ok: true,
            tables: tables.map((t) => ({ ...t, createdAt: new Date(t.createdAt).toISOString() })),
          }),
        );
        return;
      }
      if (tables.length === 0) {
        io.out("no product tables");
        return;
      }
      const rows = tables.map((t) => [
        String(t.version),
        scopeText(t.scope),
        String(t.itemCount),
        new Date(t.createdAt).toISOString(),
        t.operator,
        t.fileName,
      ]);
      for (const line of table([["version", "scope", "items", "imported", "operator", "file"], ...rows])) io.out(line);
    });
  });
}

function registerPush(products: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>): void {
  stationOptions(
    scopeOption(
      products
        .command("push")
        .description("send each device of the brand/store the table it should hold and record its acknowledgement")
        .requiredOption(
          "--cloud-admin <url>",
          "the platform emulator's admin endpoint (triadkit-sim cloud --admin-port)",
        )
        .option(
          "--work-order <id>",
          "push to this work order's burnt devices instead of the brand/store's shelf devices",
        )
        .option("--timeout-ms <n>", "per device", parsePositiveInt, 5000),
    ),
  ).action(async (options: PushOptions) => {
    const scope = scopeOf(options, true);
    const selector = selectorOf(scope, options.workOrder) as ProductTargetSelector;
    await withStation(options, io, env, async (station, actor) => {
      const store = productTables(station);
      const targets = store.targets(selector);
      const withTable = targets.filter((t) => t.version !== undefined);
      const without = targets.length - withTable.length;
      if (withTable.length === 0) {
        const why =
          targets.length === 0
            ? `no burnt device belongs to ${options.workOrder === undefined ? scopeText(scope) : `work order ${options.workOrder}`}`
            : `no product table for ${scopeText(scope)} (import one first)`;
        throw new CliUsageError(why);
      }
      const byVersion = new Map<number, typeof withTable>();
      for (const t of withTable) byVersion.set(t.version as number, [...(byVersion.get(t.version as number) ?? []), t]);
      const records: ProductPushRecord[] = [];
      for (const [version, devices] of [...byVersion].sort((a, b) => a[0] - b[0])) {
        const t = store.get(version);
        if (t === undefined) continue;
        const results = await pushProductTable(options.cloudAdmin, t, devices, { timeoutMs: options.timeoutMs });
        results.forEach((r, i) => {
          const target = devices[i] as (typeof devices)[number];
          records.push({
            triadId: target.triadId,
            pushed: version,
            status: r.status,
            atMs: r.atMs,
            ...(r.version === undefined ? {} : { version: r.version }),
            ...(r.hash === undefined ? {} : { hash: r.hash }),
            ...(r.applied === undefined ? {} : { applied: r.applied }),
            ...(r.code === undefined ? {} : { code: r.code }),
          });
        });
      }
      const selectorText =
        options.workOrder === undefined ? scopeText(scope) : `work order ${options.workOrder} (${scopeText(scope)})`;
      await store.recordPush({ selector: selectorText, cloud: new URL(options.cloudAdmin).origin }, records, actor);
      const status = store.status(selector);
      const behind = status.filter((s) => s.state === "behind");
      if (options.json) {
        io.out(
          JSON.stringify({
            ok: behind.length === 0,
            devices: status.map(statusJson),
            pushed: records.length,
            withoutTable: without,
          }),
        );
      } else {
        const rows = status.map((s) => [
          `${s.productKey}/${s.deviceName}`,
          s.deviceCode ?? "",
          s.version === undefined ? "-" : String(s.version),
          s.lastStatus ?? "-",
          s.ackedVersion === undefined ? "-" : String(s.ackedVersion),
          s.code ?? "",
        ]);
        for (const line of table([["device", "code", "should hold", "last push", "acked", "error"], ...rows])) {
          io.out(line);
        }
        io.out(`${records.length - behind.length} of ${records.length} devices hold their table`);
      }
      if (behind.length > 0) {
        io.err(`triadkit-station: ${behind.length} device(s) did not acknowledge their table; push again when online`);
        throw new ReportedFailure("products.behind");
      }
    });
  });
}

function registerStatus(products: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>): void {
  stationOptions(
    scopeOption(
      products
        .command("status")
        .description("per device: the table it should hold and the version it acknowledged (from the ledger)")
        .option("--work-order <id>", "this work order's burnt devices (with --brand/--store: whose table)"),
    ),
  ).action(async (options: StatusOptions) => {
    const scope = scopeOf(options, false);
    const selector = selectorOf(scope, options.workOrder);
    await withStation(options, io, env, async (station) => {
      const store = productTables(station);
      const status = selector === undefined ? store.recorded() : store.status(selector);
      if (options.json) {
        io.out(JSON.stringify({ ok: true, devices: status.map(statusJson) }));
        return;
      }
      if (status.length === 0) {
        io.out("no devices");
        return;
      }
      const rows = status.map((s) => [
        `${s.productKey}/${s.deviceName}`,
        s.storeId ?? "",
        s.version === undefined ? "-" : String(s.version),
        s.ackedVersion === undefined ? "-" : String(s.ackedVersion),
        s.lastStatus ?? "-",
        s.ackedAt === undefined ? "" : new Date(s.ackedAt).toISOString(),
        s.state,
      ]);
      for (const line of table([
        ["device", "store", "should hold", "acked", "last push", "acked at", "state"],
        ...rows,
      ])) {
        io.out(line);
      }
    });
  });
}

export function registerProductsCommand(
  program: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const products = program
    .command("products")
    .description("product recommendation tables (商品推荐表): import, list, push to shelf devices, status");
  registerImport(products, io, env);
  registerList(products, io, env);
  registerPush(products, io, env);
  registerStatus(products, io, env);
}

/** The product tables live in the SQLite ledger only (schema v4); not yet in the PostgreSQL pool. */
function productTables(station: Station) {
  if (station.backend === "sqlite" && "products" in station.ledger) return station.ledger.products;
  throw new TriadkitError(
    "config.invalid",
    "the product recommendation tables are not in the PostgreSQL pool yet: use a SQLite ledger for `products`",
  );
}
