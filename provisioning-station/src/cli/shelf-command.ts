import { SMARTSTORE_DEVICE_GET_METHOD, TriadkitError } from "@triadkit/protocol";
import {
  type CliIo,
  CliUsageError,
  getShelfDeviceState,
  loadTopCredentials,
  saveTopCredentials,
  TopClient,
} from "@triadkit/sdk";
import type { Command } from "commander";
import { checkpointJson } from "../audit/checkpoint-json.js";
import {
  checkDeviceCode,
  isvLine,
  parseStoreId,
  SHELF_STATUSES,
  type ShelfDevice,
  type ShelfStatus,
} from "../ledger/shelf.js";
import { importShelfSheet } from "../shelf/shelf-import.js";
import { refreshShelfStatus, type ShelfStateSource, type ShelfStatusEntry } from "../shelf/shelf-status.js";
import {
  errorText,
  parsePositiveInt,
  ReportedFailure,
  type StationCliOptions,
  stationOptions,
  table,
  withStation,
} from "./common.js";
import { rejectSheet } from "./sheet-rejection.js";

type Env = Readonly<Record<string, string | undefined>>;

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new CliUsageError(errorText(err));
  }
}

const storeOption = (value: string) => usage(() => parseStoreId(value, "--store"));

export function shelfDeviceJson(d: ShelfDevice) {
  return {
    brand: d.brand,
    storeId: d.storeId,
    storeName: d.storeName ?? null,
    deviceCode: d.deviceCode,
    deviceName: d.deviceName ?? null,
    status: d.status,
    chipId: d.chipId ?? null,
    triadId: d.triadId ?? null,
    assignedAt: d.assignedAt === undefined ? null : new Date(d.assignedAt).toISOString(),
    activatedAt: d.activatedAt === undefined ? null : new Date(d.activatedAt).toISOString(),
    activation: d.activation ?? null,
    isvLine: isvLine(d),
  };
}

interface ImportOptions extends StationCliOptions {
  readonly brand?: string;
  readonly sheet?: string;
  readonly encoding?: string;
  readonly report?: string;
}

function registerImport(shelf: Command, io: CliIo, env: Env): void {
  stationOptions(
    shelf
      .command("import")
      .description("import the brand's shelf sheet (品牌, 门店id, 设备id, 设备名称), all rows or none")
      .argument("<file>", "the sheet (.xlsx or .csv)")
      .option("--brand <name>", "the brand of rows without a brand column or cell (a different brand is refused)")
      .option("--sheet <name>", "xlsx: the sheet to read (default: the first with a shelf header)")
      .option("--encoding <label>", "CSV: force utf-8, gb18030 or gbk (default: detect)")
      .option("--report <file>", "where a rejected sheet's report goes (default: <file>.report.csv)"),
  ).action(async (path: string, options: ImportOptions) => {
    await withStation(options, io, env, async (station, actor) => {
      const outcome = await importShelfSheet(station.ledger, path, {
        actor,
        ...(options.brand === undefined ? {} : { brand: options.brand }),
        ...(options.sheet === undefined ? {} : { sheet: options.sheet }),
        ...(options.encoding === undefined ? {} : { encoding: options.encoding }),
      });
      if (!outcome.ok) {
        return rejectSheet(io, station, actor, {
          reportPath: options.report ?? `${path}.report.csv`,
          fileName: outcome.file.name,
          issues: outcome.issues,
          moreIssues: 0,
          rowsRead: outcome.sheet.rowsRead,
          details: { kind: "shelf", fileName: outcome.file.name, sha256: outcome.file.sha256 },
          json: options.json === true,
        });
      }
      const checkpoint = checkpointJson(await station.ledger.checkpoint(), station.stationKey.publicKey);
      if (options.json) {
        io.out(
          JSON.stringify({
            ok: true,
            imported: outcome.devices.length,
            newBrands: outcome.newBrands,
            newStores: outcome.newStores,
            auditSeq: outcome.auditSeq,
            file: outcome.file,
            checkpoint,
          }),
        );
      } else {
        const stores = new Set(outcome.devices.map((d) => d.storeId)).size;
        io.out(`imported ${outcome.devices.length} device code(s) of ${stores} store(s) from ${outcome.file.name}`);
      }
    });
  });
}

interface AddOptions extends StationCliOptions {
  readonly store: number;
  readonly code: string;
  readonly brand?: string;
  readonly name?: string;
  readonly storeName?: string;
}

function registerAdd(shelf: Command, io: CliIo, env: Env): void {
  stationOptions(
    shelf
      .command("add")
      .description("add one device code typed or scanned on the line")
      .requiredOption("--store <id>", "store id (门店id / 门店码)", storeOption)
      .requiredOption("--code <code>", "device code (设备码 / 设备初始Code), exactly as the console shows it")
      .option("--brand <name>", "the store's brand (needed for a store the ledger does not know yet)")
      .option("--name <text>", "device name (设备名称)")
      .option("--store-name <text>", "store name (门店名称)"),
  ).action(async (options: AddOptions) => {
    const code = usage(() => checkDeviceCode(options.code.trim(), "--code"));
    await withStation(options, io, env, async (station, actor) => {
      const known = (await station.ledger.shelfStores()).find((s) => s.storeId === options.store);
      const brand = options.brand ?? known?.brand;
      if (brand === undefined) {
        throw new CliUsageError(`store ${options.store} is new to the ledger: give its --brand`);
      }
      const r = await station.ledger.importShelfDevices(
        [
          {
            row: 0,
            brand,
            storeId: options.store,
            deviceCode: code,
            ...(options.name === undefined ? {} : { deviceName: options.name }),
            ...(options.storeName === undefined ? {} : { storeName: options.storeName }),
          },
        ],
        { via: "line" },
        actor,
      );
      if (!r.ok) {
        const first = r.issues[0];
        const err = { code: first?.code ?? "shelf.bad_value", message: first?.message ?? "refused" };
        if (options.json) io.out(JSON.stringify({ ok: false, error: err }));
        io.err(`triadkit-station: ${err.message} (${err.code})`);
        throw new ReportedFailure(err.code);
      }
      const d = r.devices[0] as ShelfDevice;
      if (options.json) io.out(JSON.stringify({ ok: true, device: shelfDeviceJson(d) }));
      else io.out(`device code ${d.deviceCode} added to store ${d.storeId} (${d.brand}), pending activation`);
    });
  });
}

interface ListOptions extends StationCliOptions {
  readonly brand?: string;
  readonly store?: number;
  readonly status?: string;
  readonly unassigned?: boolean;
  readonly assigned?: boolean;
  readonly limit: number;
}

function statusOf(value: string | undefined): ShelfStatus[] | undefined {
  if (value === undefined) return undefined;
  if (!(SHELF_STATUSES as readonly string[]).includes(value)) {
    throw new CliUsageError(`--status must be one of ${SHELF_STATUSES.join(", ")}, not ${value}`);
  }
  return [value as ShelfStatus];
}

function registerList(shelf: Command, io: CliIo, env: Env): void {
  stationOptions(
    shelf
      .command("list", { isDefault: true })
      .description("shelf devices: store, device code, status, the chip and triad they went to")
      .option("--brand <name>", "only this brand")
      .option("--store <id>", "only this store", storeOption)
      .option("--status <status>", `only ${SHELF_STATUSES.join(" or ")}`)
      .option("--unassigned", "only codes no board holds yet")
      .option("--assigned", "only codes held by a board")
      .option("--limit <n>", "at most n devices", parsePositiveInt, 1000),
  ).action(async (options: ListOptions) => {
    const status = statusOf(options.status);
    if (options.unassigned && options.assigned)
      throw new CliUsageError("--assigned and --unassigned exclude each other");
    await withStation(options, io, env, async (station) => {
      const list = await station.ledger.listShelfDevices({
        limit: options.limit,
        ...(options.brand === undefined ? {} : { brand: options.brand }),
        ...(options.store === undefined ? {} : { storeId: options.store }),
        ...(status === undefined ? {} : { status }),
        ...(options.unassigned ? { assigned: false } : options.assigned ? { assigned: true } : {}),
      });
      if (options.json) {
        io.out(JSON.stringify({ devices: list.map(shelfDeviceJson) }));
        return;
      }
      const rows = list.map((d) => [
        d.brand,
        String(d.storeId),
        d.deviceCode,
        d.deviceName ?? "",
        d.status,
        d.chipId ?? "-",
        d.triadId ?? "-",
      ]);
      for (const line of table([["brand", "store", "device code", "name", "status", "chip", "triad"], ...rows])) {
        io.out(line);
      }
    });
  });
}

function registerShow(shelf: Command, io: CliIo, env: Env): void {
  stationOptions(
    shelf
      .command("show")
      .description("one shelf device (by its current or an earlier code) with every code it had")
      .argument("<code>", "device code"),
  ).action(async (code: string, options: StationCliOptions) => {
    await withStation(options, io, env, async (station) => {
      const d = await station.ledger.shelfDevice(code);
      if (d === undefined) {
        throw new TriadkitError("shelf.unknown_code", `no shelf device has the code ${code}`, { deviceCode: code });
      }
      const history = await station.ledger.shelfCodeHistory(code);
      const codes = history.map((h) => ({
        code: h.code,
        source: h.source,
        from: new Date(h.validFrom).toISOString(),
        to: h.validTo === undefined ? null : new Date(h.validTo).toISOString(),
        note: h.note ?? null,
      }));
      if (options.json) {
        io.out(JSON.stringify({ device: shelfDeviceJson(d), codes }));
        return;
      }
      const j = shelfDeviceJson(d);
      io.out(`${j.isvLine}`);
      io.out(`status ${j.status}${j.activatedAt === null ? "" : ` since ${j.activatedAt}`}`);
      io.out(`chip ${j.chipId ?? "-"}  triad ${j.triadId ?? "-"}`);
      for (const line of table([
        ["code", "source", "from", "to", "note"],
        ...codes.map((c) => [c.code, c.source, c.from, c.to ?? "(current)", c.note ?? ""]),
      ])) {
        io.out(line);
      }
    });
  });
}

interface RecodeOptions extends StationCliOptions {
  readonly source: string;
  readonly note?: string;
}

function registerRecode(shelf: Command, io: CliIo, env: Env): void {
  stationOptions(
    shelf
      .command("recode")
      .description("the device's code changed (e.g. after activation): the old code is kept in its history")
      .argument("<code>", "the device's current code")
      .argument("<new-code>", "its new code")
      .option("--source <source>", "where the new code comes from: line (typed or scanned) or platform", "line")
      .option("--note <text>", "why (kept with the code)"),
  ).action(async (code: string, newCode: string, options: RecodeOptions) => {
    if (options.source !== "line" && options.source !== "platform") {
      throw new CliUsageError(`--source must be line or platform, not ${options.source}`);
    }
    const checked = usage(() => checkDeviceCode(newCode.trim(), "<new-code>"));
    await withStation(options, io, env, async (station, actor) => {
      const d = await station.ledger.changeShelfCode(
        code,
        checked,
        options.source as "line" | "platform",
        options.note,
        actor,
      );
      if (options.json) io.out(JSON.stringify({ ok: true, device: shelfDeviceJson(d), previous: code }));
      else io.out(`device code ${code} is now ${d.deviceCode} (store ${d.storeId}, ${d.status})`);
    });
  });
}

interface ReleaseOptions extends StationCliOptions {
  readonly reason: string;
}

function registerRelease(shelf: Command, io: CliIo, env: Env): void {
  stationOptions(
    shelf
      .command("release")
      .description("a code held by a board that will not carry it goes back to the unassigned ones (audited decision)")
      .argument("<code>", "device code")
      .requiredOption("--reason <text>", "why (e.g. the board was never burnt, it went to another product)"),
  ).action(async (code: string, options: ReleaseOptions) => {
    const reason = options.reason.trim();
    if (reason === "" || reason.length > 500) throw new CliUsageError("--reason must be 1–500 characters");
    await withStation(options, io, env, async (station, actor) => {
      const d = await station.ledger.releaseShelfDevice(code, { operator: actor.operator, reason }, actor);
      if (options.json) io.out(JSON.stringify({ ok: true, device: shelfDeviceJson(d) }));
      else io.out(`device code ${d.deviceCode} (store ${d.storeId}) is unassigned`);
    });
  });
}

interface StatusOptions extends StationCliOptions {
  readonly topCredentials: string;
  readonly topUrl: string;
  readonly brand?: string;
  readonly store?: number;
  readonly timeoutMs?: number;
}

/** The platform side through TOP: `taobao.smartstore.device.get` with the ISV's credentials file. */
export function topStateSource(options: {
  readonly credentialsFile: string;
  readonly url: string;
  readonly timeoutMs?: number;
}): ShelfStateSource {
  const credentials = loadTopCredentials(options.credentialsFile);
  const client = new TopClient({
    endpoint: options.url,
    appKey: credentials.appKey,
    appSecret: credentials.appSecret,
    ...(credentials.session === undefined ? {} : { session: credentials.session }),
    ...(credentials.refreshToken === undefined ? {} : { refreshToken: credentials.refreshToken }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    // A refreshed session is written back to the file (0600, atomically), so the next run uses it.
    onSessionRefreshed: (tokens) =>
      saveTopCredentials(options.credentialsFile, {
        ...credentials,
        session: tokens.session,
        ...(tokens.refreshToken === undefined ? {} : { refreshToken: tokens.refreshToken }),
        ...(tokens.expiresAtMs === undefined ? {} : { sessionExpiresAtMs: tokens.expiresAtMs }),
      }),
  });
  return {
    name: `top:${SMARTSTORE_DEVICE_GET_METHOD}`,
    deviceState: (code) => getShelfDeviceState(client, code),
  };
}

function entryJson(e: ShelfStatusEntry) {
  return {
    brand: e.brand,
    storeId: e.storeId,
    deviceCode: e.deviceCode,
    chipId: e.chipId ?? null,
    before: e.before,
    after: e.after,
    platformStatus: e.platform?.status ?? null,
    statusTime: e.platform?.statusTimeMs === undefined ? null : new Date(e.platform.statusTimeMs).toISOString(),
    ...(e.error === undefined ? {} : { error: e.error }),
  };
}

function registerStatus(shelf: Command, io: CliIo, env: Env): void {
  stationOptions(
    shelf
      .command("status")
      .description("ask the platform (TOP) about every burnt, pending code; those seen online become activated")
      .requiredOption("--top-credentials <file>", "the ISV's TOP credentials file (JSON, mode 0600; never argv)")
      .requiredOption("--top-url <url>", "the TOP endpoint, e.g. https://eco.taobao.com/router/rest")
      .option("--brand <name>", "only this brand")
      .option("--store <id>", "only this store", storeOption)
      .option("--timeout-ms <n>", "per TOP request", parsePositiveInt),
  ).action(async (options: StatusOptions) => {
    const source = topStateSource({
      credentialsFile: options.topCredentials,
      url: options.topUrl,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    await withStation(options, io, env, async (station, actor) => {
      const entries = await refreshShelfStatus(station.ledger, source, actor, {
        now: Date.now,
        ...(options.brand === undefined ? {} : { brand: options.brand }),
        ...(options.store === undefined ? {} : { storeId: options.store }),
        onEntry: (e) => {
          if (options.json) return;
          const what = e.error === undefined ? (e.platform?.status ?? "not reported") : `${e.error.code}`;
          io.out(
            `${e.deviceCode}  store ${e.storeId}  ${what}  ${e.before}${e.after === e.before ? "" : ` → ${e.after}`}`,
          );
        },
      });
      const activated = entries.filter((e) => e.after === "activated").length;
      const failed = entries.filter((e) => e.error !== undefined).length;
      if (options.json) {
        io.out(
          JSON.stringify({
            ok: failed === 0,
            asked: entries.length,
            activated,
            failed,
            devices: entries.map(entryJson),
          }),
        );
      } else {
        io.out(`asked ${entries.length}, activated ${activated}${failed === 0 ? "" : `, ${failed} failed`}`);
      }
      if (failed > 0) throw new ReportedFailure(`${failed} device(s) could not be asked`);
    });
  });
}

export function registerShelfCommand(program: Command, io: CliIo, env: Env): void {
  const shelf = program
    .command("shelf")
    .description("smart-shelf store and device codes (智能云货架): import, add, list, activation from TOP");
  registerList(shelf, io, env);
  registerImport(shelf, io, env);
  registerAdd(shelf, io, env);
  registerShow(shelf, io, env);
  registerRecode(shelf, io, env);
  registerRelease(shelf, io, env);
  registerStatus(shelf, io, env);
}
