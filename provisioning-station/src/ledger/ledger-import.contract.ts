/** Contract: work orders and imports. */
import { expectTriadkitErrorAsync } from "@triadkit/protocol";
import { describe, expect, it } from "vitest";
import {
  ALIBABA_PRODUCT,
  alibabaIdentity,
  alibabaOrder,
  alibabaRows,
  GENIE_PRODUCT,
  genieIdentity,
  genieOrder,
  genieRows,
  knownSecret,
  macFor,
  SOURCE,
  sealedRow,
} from "./__tests__/fixtures.js";
import type { ContractContext } from "./ledger.contract.js";
import type { SealedRow } from "./types.js";

export function importContract(ctx: () => ContractContext): void {
  async function importRows(workOrderId: string, rows: readonly SealedRow[]) {
    const { ledger, actor } = ctx();
    const session = await ledger.beginImport(workOrderId, SOURCE, actor);
    const issues = await session.add(rows);
    if (issues.length > 0) {
      await session.abort();
      return { issues };
    }
    return { issues, summary: await session.commit() };
  }

  describe("work orders", () => {
    it("adds, gets and lists work orders, with the family read from the product", async () => {
      const { ledger, actor } = ctx();
      const g = await ledger.addWorkOrder(genieOrder("WO-1", { quantity: 10, line: "L1", brand: "B" }), actor);
      expect(g).toMatchObject({ id: "WO-1", family: "genie", product: GENIE_PRODUCT, quantity: 10, line: "L1" });
      const a = await ledger.addWorkOrder(alibabaOrder("WO-2"), actor);
      expect(a.family).toBe("alibaba");
      expect(a.quantity).toBeUndefined();
      expect(await ledger.getWorkOrder("WO-1")).toEqual(g);
      expect(await ledger.getWorkOrder("nope")).toBeUndefined();
      expect((await ledger.listWorkOrders()).map((w) => w.id)).toEqual(["WO-1", "WO-2"]);
    });

    it("never reuses a work order id", async () => {
      const { ledger, actor } = ctx();
      await ledger.addWorkOrder(genieOrder("WO-1"), actor);
      await expectTriadkitErrorAsync(
        () => ledger.addWorkOrder(alibabaOrder("WO-1"), actor),
        "ledger.work_order_exists",
      );
    });

    it.each([
      ["a product that is neither", { product: "not a key!" }],
      ["an empty model", { model: "  " }],
      ["a firmware that is not dotted", { minFirmware: "v1" }],
      ["a quantity of 0", { quantity: 0 }],
      ["a fractional quantity", { quantity: 1.5 }],
      ["a Product ID over u32", { product: "4294967296" }],
    ])("refuses %s", async (_what, patch) => {
      const { ledger, actor } = ctx();
      await expectTriadkitErrorAsync(
        () => ledger.addWorkOrder(genieOrder("WO-X", patch), actor),
        "ledger.bad_work_order",
      );
      expect(await ledger.listWorkOrders()).toEqual([]);
    });
  });

  describe("import", () => {
    it("imports a batch whole: every row available, one audit entry with counts, file name and sha256", async () => {
      const { ledger, keyring } = ctx();
      await ledger.addWorkOrder(genieOrder("WO-1", { quantity: 5 }), ctx().actor);
      const session = await ledger.beginImport("WO-1", { ...SOURCE, details: { sheet: "Sheet1" } }, ctx().actor);
      expect(session.keyVersion).toBe(keyring.keyVersion);
      expect(await session.add(genieRows(keyring, "a", 0, 3))).toEqual([]);
      expect(await session.add(genieRows(keyring, "a", 3, 2))).toEqual([]);
      const summary = await session.commit();
      expect(summary).toMatchObject({ workOrderId: "WO-1", imported: 5, workOrderTotal: 5 });
      expect((await ledger.counts()).byWorkOrder["WO-1"]?.available).toBe(5);
      const entries = await ledger.auditEntries(ledger.stationId, summary.auditSeq - 1, 10);
      expect(entries).toHaveLength(1);
      expect(entries[0]?.action).toBe("import");
      expect(JSON.parse(entries[0]?.details ?? "{}")).toMatchObject({
        workOrderId: "WO-1",
        rows: 5,
        fileName: "triads.xlsx",
        sha256: SOURCE.sha256,
        sheet: "Sheet1",
      });
    });

    it("abort (or a refused commit) leaves nothing", async () => {
      const { ledger, keyring, actor } = ctx();
      await ledger.addWorkOrder(genieOrder("WO-1"), actor);
      const session = await ledger.beginImport("WO-1", SOURCE, actor);
      await session.add(genieRows(keyring, "a", 0, 4));
      await session.abort();
      expect((await ledger.counts()).total.available).toBe(0);
      // The same rows import fine afterwards: nothing of the aborted session remains.
      expect((await importRows("WO-1", genieRows(keyring, "a", 0, 4))).summary?.imported).toBe(4);
    });

    it("refuses identities already in the ledger, in any work order and state, forever", async () => {
      const { ledger, keyring, actor } = ctx();
      await ledger.addWorkOrder(genieOrder("WO-1"), actor);
      await ledger.addWorkOrder(genieOrder("WO-2"), actor);
      await importRows("WO-1", genieRows(keyring, "a", 0, 2));
      const t = await ledger.reserve("WO-1", actor);
      await ledger.transition(t.id, { to: "void", actor, reason: "board scrapped" });
      const again = sealedRow(keyring, genieIdentity(0), knownSecret("fresh", 0), 7);
      const { issues } = await importRows("WO-2", [again]);
      expect(issues.map((i) => [i.row, i.field, i.code])).toEqual([
        [7, "mac", "import.triad_exists"],
        [7, "bleMac", "import.triad_exists"],
      ]);
      expect((await ledger.counts()).byWorkOrder["WO-2"]?.available).toBe(0);
    });

    it("treats WiFi and Bluetooth MACs as one namespace", async () => {
      const { ledger, keyring, actor } = ctx();
      await ledger.addWorkOrder(genieOrder("WO-1"), actor);
      await importRows("WO-1", [sealedRow(keyring, genieIdentity(1, { ble: false }), knownSecret("x", 1), 2)]);
      const clash = sealedRow(keyring, genieIdentity(50, { ble: macFor(1) }), knownSecret("x", 50), 3);
      const { issues } = await importRows("WO-1", [clash]);
      expect(issues.map((i) => [i.field, i.code])).toEqual([["bleMac", "import.triad_exists"]]);
    });

    it("refuses a secret already held, a foreign product and a repeat within the import; commit is refused", async () => {
      const { ledger, keyring, actor } = ctx();
      await ledger.addWorkOrder(alibabaOrder("WO-1"), actor);
      await importRows("WO-1", alibabaRows(keyring, "a", 0, 2));
      const session = await ledger.beginImport("WO-1", SOURCE, actor);
      const rows = [
        sealedRow(keyring, alibabaIdentity(10), knownSecret("a", 0), 2), // secret of an existing triad
        sealedRow(keyring, alibabaIdentity(11, "a1OtherProd"), knownSecret("b", 11), 3),
        sealedRow(keyring, alibabaIdentity(12), knownSecret("b", 12), 4),
        sealedRow(keyring, alibabaIdentity(12), knownSecret("b", 13), 5), // same identity as row 4
        sealedRow(keyring, alibabaIdentity(14), knownSecret("b", 12), 6), // same secret as row 4
      ];
      const issues = await session.add(rows);
      expect(issues.map((i) => [i.row, i.field, i.code])).toEqual([
        [2, "secret", "import.duplicate_secret"],
        [3, "product", "import.product_mismatch"],
        [5, "identity", "import.duplicate_triad"],
        [6, "secret", "import.duplicate_secret"],
      ]);
      for (const i of issues) expect(i.message).not.toMatch(/[0-9a-f]{32}/);
      await expectTriadkitErrorAsync(() => session.commit(), "import.rejected");
      expect((await ledger.counts()).total.available).toBe(2);
    });

    it("refuses an import past the work order's quantity", async () => {
      const { ledger, keyring, actor } = ctx();
      await ledger.addWorkOrder(alibabaOrder("WO-1", { quantity: 3 }), actor);
      await importRows("WO-1", alibabaRows(keyring, "a", 0, 2));
      const session = await ledger.beginImport("WO-1", SOURCE, actor);
      expect(await session.add(alibabaRows(keyring, "a", 2, 2))).toEqual([]);
      const err = await expectTriadkitErrorAsync(() => session.commit(), "import.over_quantity");
      expect(err.context).toMatchObject({ quantity: 3, total: 4 });
      expect((await ledger.counts()).total.available).toBe(2);
    });

    it("refuses an unknown work order", async () => {
      const { ledger, actor } = ctx();
      await expectTriadkitErrorAsync(() => ledger.beginImport("nope", SOURCE, actor), "ledger.unknown_work_order");
    });

    it("finds triads by any identity and lists them in import order", async () => {
      const { ledger, keyring, actor } = ctx();
      await ledger.addWorkOrder(genieOrder("WO-1"), actor);
      const rows = genieRows(keyring, "a", 0, 5);
      await importRows("WO-1", rows);
      const byBle = await ledger.findTriad({ family: "genie", productId: 1, mac: macFor(3, 0x1c) });
      expect(byBle?.id).toBe(rows[3]?.id);
      expect(byBle?.identity).toEqual(rows[3]?.identity);
      expect(await ledger.findTriad(alibabaIdentity(1, ALIBABA_PRODUCT))).toBeUndefined();
      const page1 = await ledger.listTriads({ workOrderId: "WO-1", limit: 2 });
      const page2 = await ledger.listTriads({ workOrderId: "WO-1", limit: 10, afterId: page1[1]?.id as string });
      expect([...page1, ...page2].map((t) => t.id)).toEqual(rows.map((r) => r.id));
      expect(await ledger.listTriads({ states: ["reserved"] })).toEqual([]);
    });
  });
}
