/**
 * A station with burnt devices, for the export tests: work orders imported from generated sheets of known secrets,
 * simulated boards running the SDK's factory responder on in-memory flash (the device code `triadkit-sim` runs), some
 * with a cellular modem whose IMEI/ICCID/IMSI they report at `hello`, burnt in process over in-memory serial links.
 * Then one triad quarantined and one board scrapped, as a line would have it. `triadkit-station` runs in process
 * (`main` with a captured io) against the same ledger file.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatPop, iccidCheckDigit, imeiCheckDigit, toHex } from "@triadkit/protocol";
import {
  type DeviceLink,
  importSheet,
  main,
  obtainFactoryAnchor,
  openStation,
  runBurnSession,
  type Station,
  type TriadRecord,
} from "@triadkit/provisioning-station";
import {
  CryptoRandom,
  createFactoryResponder,
  FactoryCredentialStore,
  type FactoryResponder,
  MemoryFlashStore,
  MemorySerialLink,
} from "@triadkit/sdk";
import { expect } from "vitest";

export const OPERATOR = "line-7-zhao";
export const MODEL = "TK-CELL-1";
export const ORDER_A = "WO-EXP-A";
export const ORDER_B = "WO-EXP-B";

export interface Modem {
  readonly imei?: string;
  readonly iccid?: string;
  readonly imsi?: string;
}

/** A valid IMEI (TAC 86…, Luhn), a China Unicom ICCID (8986 01…, Luhn enforced) and a China Unicom IMSI. */
export function simFor(i: number): Required<Modem> {
  const imei14 = `86${String(4_211_000_000 + i).padStart(12, "0")}`;
  const iccid19 = `898601${String(1_234_500_000_000 + i).padStart(13, "0")}`;
  return {
    imei: imei14 + imeiCheckDigit(imei14),
    iccid: iccid19 + iccidCheckDigit(iccid19),
    imsi: `46001${String(9_000_000_000 + i).padStart(10, "0")}`,
  };
}

/** A simulated board: its flash outlives the cable. */
export class Board {
  readonly store = new FactoryCredentialStore(new MemoryFlashStore());
  private responder: FactoryResponder | undefined;

  constructor(
    readonly chipId: string,
    readonly modem: Modem | undefined,
  ) {}

  plug(): MemorySerialLink {
    const [station, device] = MemorySerialLink.pair();
    const modem = this.modem;
    this.responder = createFactoryResponder({
      link: device,
      store: this.store,
      chip: { chipId: this.chipId, wifiMac: `0c${this.chipId.slice(-6)}bbbb`, model: MODEL, firmware: "1.3.0" },
      random: new CryptoRandom(),
      ...(modem === undefined ? {} : { modem: async () => modem }),
    });
    return station;
  }

  async close(): Promise<void> {
    await this.responder?.close();
  }
}

export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  json(): Record<string, unknown>;
}

export class ExportFloor {
  readonly secrets: string[] = [];
  /** Every PoP the ledger holds, in its forms (hex both cases, base64, the label text). */
  readonly pops: string[] = [];
  readonly boards: Board[] = [];
  station: Station | undefined;

  private constructor(
    readonly dir: string,
    readonly db: string,
  ) {}

  static async create(): Promise<ExportFloor> {
    const dir = mkdtempSync(join(tmpdir(), "tk-export-"));
    const floor = new ExportFloor(dir, join(dir, "ledger.db"));
    floor.station = await openStation({ dbPath: floor.db, operator: OPERATOR });
    return floor;
  }

  private get open(): Station {
    if (this.station === undefined) throw new Error("the test station is closed");
    return this.station;
  }

  /** A work order and its imported sheet of `count` Alibaba triads with random secrets. */
  async order(id: string, product: string, count: number): Promise<void> {
    const station = this.open;
    const actor = station.actor(OPERATOR);
    await station.ledger.addWorkOrder({ id, product, model: MODEL, minFirmware: "1.2.0", brand: "Acme" }, actor);
    const rows = ["ProductKey,DeviceName,DeviceSecret"];
    for (let i = 0; i < count; i++) {
      const secret = randomBytes(24).toString("base64").replace(/[+/=]/g, "x").slice(0, 32);
      this.secrets.push(secret);
      rows.push(`${product},exp_${id}_${String(i).padStart(3, "0")},${secret}`);
    }
    const sheet = join(this.dir, `${id}.csv`);
    writeFileSync(sheet, `${rows.join("\n")}\n`);
    const outcome = await importSheet(station.ledger, station.keyring, sheet, {
      workOrderId: id,
      actor,
      random: new CryptoRandom(),
    });
    expect(outcome.ok).toBe(true);
    rmSync(sheet);
  }

  /** Burns one board per entry (in parallel, one fixture each) on `workOrderId`; every one must pass. */
  async burn(workOrderId: string, modems: readonly (Modem | undefined)[]): Promise<Board[]> {
    const station = this.open;
    const boards = modems.map((m, i) => new Board(`ce${String(this.boards.length + i).padStart(14, "0")}`, m));
    this.boards.push(...boards);
    const random = new CryptoRandom();
    const anchor = await obtainFactoryAnchor(station.ledger, station.keyring, station.actor(OPERATOR), {
      random,
      now: Date.now,
      create: true,
    });
    const order = await station.ledger.getWorkOrder(workOrderId);
    const { outcomes } = await runBurnSession({
      ctx: {
        ledger: station.ledger,
        keyring: station.keyring,
        anchor,
        stationId: station.stationId,
        operator: OPERATOR,
        random,
        now: Date.now,
        retries: 1,
        alert: () => {},
      },
      ports: boards.map((b, i) => ({ fixture: `E${this.boards.length - boards.length + i + 1}`, link: b.plug() })),
      ...(order === undefined ? {} : { workOrder: order }),
      watch: false,
      timeoutMs: 500,
      onOutcome: () => {},
    });
    expect(outcomes.map((o) => o.result)).toEqual(boards.map(() => "pass"));
    return boards;
  }

  /** Every linked triad with its link (any state, any link status). */
  async linked(): Promise<{ triad: TriadRecord; link: DeviceLink }[]> {
    const station = this.open;
    const out: { triad: TriadRecord; link: DeviceLink }[] = [];
    for (const triad of await station.ledger.listTriads({ limit: 10_000 })) {
      const link = await station.ledger.deviceLink(triad.id);
      if (link !== undefined) out.push({ triad, link });
    }
    return out;
  }

  /** Opens every secret and PoP the ledger holds (to search the exports for them). */
  async collectSecrets(): Promise<void> {
    const station = this.open;
    for (const { triad, link } of await this.linked()) {
      const secret = station.keyring.open(triad.id, triad.sealedSecret);
      if (!this.secrets.includes(secret)) this.secrets.push(secret);
      const pop = station.keyring.openPop(triad.id, link.sealedPop);
      this.pops.push(toHex(pop), toHex(pop).toUpperCase(), Buffer.from(pop).toString("base64"), formatPop(pop));
    }
    expect(this.pops.length).toBeGreaterThan(0);
  }

  async closeStation(): Promise<void> {
    await this.station?.close();
    this.station = undefined;
  }

  async reopen(): Promise<Station> {
    await this.closeStation();
    this.station = await openStation({ dbPath: this.db, operator: OPERATOR });
    return this.station;
  }

  /** `triadkit-station <args> --db <db> --operator export-clerk`, in process. */
  async run(args: readonly string[], options: { cwd?: string } = {}): Promise<Captured> {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
      shutdownSignal: () => new Promise<NodeJS.Signals>(() => {}),
    };
    const cwd = process.cwd();
    if (options.cwd !== undefined) process.chdir(options.cwd);
    try {
      const code = await main(
        ["node", "triadkit-station", ...args, "--db", this.db, "--operator", "export-clerk"],
        io,
        {},
      );
      const stdout = out.join("\n");
      return {
        code,
        stdout,
        stderr: err.join("\n"),
        json: () => JSON.parse(out.at(-1) ?? "{}") as Record<string, unknown>,
      };
    } finally {
      if (options.cwd !== undefined) process.chdir(cwd);
    }
  }

  async close(): Promise<void> {
    for (const b of this.boards) await b.close();
    await this.closeStation();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
