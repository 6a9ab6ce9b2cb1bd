import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deriveStationKey } from "../../keys/station-key.js";
import { ledgerContract } from "../ledger.contract.js";
import { openSqliteLedger } from "./sqlite-ledger.js";

ledgerContract("sqlite", async ({ now, random }) => {
  const dir = mkdtempSync(join(tmpdir(), "tk-ledger-"));
  const path = join(dir, "ledger.db");
  const stationKey = deriveStationKey("st-contract", random.bytes(32));
  const open = () => openSqliteLedger({ path, keys: stationKey, now, random, busyTimeoutMs: 5000 });
  const ledger = await open();
  return {
    ledger,
    stationKey,
    headFile: ledger.headFile,
    openAnother: open,
    async cleanup() {
      await ledger.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
