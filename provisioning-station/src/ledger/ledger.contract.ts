/**
 * The Ledger contract suite: every backend runs it (SQLite here; PostgreSQL in its own issue).
 *
 *   ledgerContract("postgres", async ({ now, random }) => ({ ledger, stationKey, headFile, openAnother, cleanup }));
 *
 * The fixture gives a fresh, empty pool opened as one station; `openAnother` opens a second handle (its own
 * connection) on the same pool as the same station, for the concurrency tests.
 */
import type { Random } from "@triadkit/sdk";
import { CryptoRandom } from "@triadkit/sdk";
import { afterEach, beforeEach, describe } from "vitest";
import type { PoolKeyring } from "../keys/pool-keyring.js";
import { openPoolKeyring } from "../keys/pool-keys.js";
import type { StationKey } from "../keys/station-key.js";
import { testClock } from "./__tests__/fixtures.js";
import { devicesContract } from "./ledger-devices.contract.js";
import { importContract } from "./ledger-import.contract.js";
import { keysAuditContract } from "./ledger-keys-audit.contract.js";
import { shelfContract } from "./ledger-shelf.contract.js";
import { stateContract } from "./ledger-states.contract.js";
import type { Actor, Ledger } from "./types.js";

export interface LedgerFixture {
  readonly ledger: Ledger;
  readonly stationKey: StationKey;
  /** The head counter file this ledger advances, when the backend keeps one. */
  readonly headFile?: string;
  /** A second handle on the same pool, same station, own connection. */
  openAnother(): Promise<Ledger>;
  cleanup(): Promise<void>;
}

export type MakeLedger = (deps: { readonly now: () => number; readonly random: Random }) => Promise<LedgerFixture>;

export interface ContractContext {
  readonly fixture: LedgerFixture;
  readonly ledger: Ledger;
  readonly keyring: PoolKeyring;
  readonly actor: Actor;
  readonly now: () => number;
  readonly random: Random;
}

export function ledgerContract(name: string, make: MakeLedger): void {
  describe(`Ledger contract: ${name}`, () => {
    let current: ContractContext | undefined;
    const ctx = (): ContractContext => {
      if (current === undefined) throw new Error("no fixture");
      return current;
    };
    beforeEach(async () => {
      const now = testClock();
      const random = new CryptoRandom();
      const fixture = await make({ now, random });
      const actor: Actor = { stationId: fixture.stationKey.stationId, operator: "alice", fixture: "F1" };
      const keyring = await openPoolKeyring(fixture.ledger, fixture.stationKey, actor, { now, random });
      current = { fixture, ledger: fixture.ledger, keyring, actor, now, random };
    });
    afterEach(async () => {
      await current?.fixture.cleanup();
      current = undefined;
    });
    importContract(ctx);
    stateContract(ctx);
    keysAuditContract(ctx);
    devicesContract(ctx);
    shelfContract(ctx);
  });
}
