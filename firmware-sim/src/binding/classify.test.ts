import { describe, expect, it } from "vitest";
import { type ClassifyFacts, classify, judgeHeartbeat } from "./classify.js";
import type { SimTriple } from "./types.js";

const A: SimTriple = { imei: "490154203237518", iccid: "89860621330066521767", imsi: "460060086257148" };
const B: SimTriple = { imei: "356938035643809", iccid: "89860318640220133897", imsi: "460030912121001" };
const other = { productKey: "a1B2c3D4e5F", deviceName: "first" };

/** Facts for a report `reported`, given the expected bindings `sheet` and an optional earlier IMEI holder. */
function facts(reported: SimTriple, sheet: readonly SimTriple[], holder = false): ClassifyFacts {
  return {
    byImei: sheet.find((s) => s.imei === reported.imei),
    byIccid: sheet.find((s) => s.iccid === reported.iccid),
    byImsi: sheet.find((s) => s.imsi === reported.imsi),
    imeiHolder: holder ? other : undefined,
  };
}

describe("precedence: one message, one state", () => {
  // [case, reported, sheet, holder?, expected state]
  const table: [string, SimTriple, SimTriple[], boolean, string][] = [
    ["exact binding", A, [A, B], false, "bound"],
    ["exact binding, but the IMEI is held by another device", A, [A, B], true, "duplicate_imei"],
    [
      "IMEI held elsewhere and with a wrong card",
      { ...A, iccid: B.iccid, imsi: B.imsi },
      [A, B],
      true,
      "duplicate_imei",
    ],
    [
      "IMEI expected with card A, reports card B (also card_elsewhere)",
      { ...A, iccid: B.iccid, imsi: B.imsi },
      [A, B],
      false,
      "mismatch",
    ],
    [
      "IMEI expected, unknown card",
      { ...A, iccid: "89860000000000000001", imsi: "460000000000001" },
      [A],
      false,
      "mismatch",
    ],
    ["IMEI expected, right ICCID, other IMSI", { ...A, imsi: B.imsi }, [A], false, "mismatch"],
    ["IMEI unknown, ICCID expected under another IMEI", { ...B, iccid: A.iccid }, [A], false, "card_elsewhere"],
    ["IMEI unknown, IMSI expected under another IMEI", { ...B, imsi: A.imsi }, [A], false, "card_elsewhere"],
    ["nothing known", B, [A], false, "unregistered"],
    ["nothing known, IMEI held elsewhere", B, [A], true, "duplicate_imei"],
  ];
  it.each(table)("%s", (_, reported, sheet, holder, state) => {
    expect(classify(reported, facts(reported, sheet, holder)).state).toBe(state);
  });

  it("a mismatch names where the reported card belongs, so the one alert carries both facts", () => {
    const moved = { ...B, iccid: A.iccid, imsi: A.imsi };
    const c = classify(moved, facts(moved, [A, B]));
    expect(c).toMatchObject({ state: "mismatch", expected: B, cardBoundImei: A.imei });
    expect(c.reason).toContain(`bound to IMEI ${A.imei}`);
  });
});

describe("heartbeat sequence rules", () => {
  const last = { epoch: 3, bootId: "b1", seq: 10 };
  const fresh = { recently: false, retiredEpoch: false };
  it.each([
    ["first heartbeat ever", undefined, { epoch: 3, bootId: "b1", seq: 0 }, fresh, "accepted"],
    ["next seq", last, { epoch: 3, bootId: "b1", seq: 11 }, fresh, "accepted"],
    ["jump ahead after a power cut", last, { epoch: 3, bootId: "b2", seq: 500 }, fresh, "accepted"],
    ["redelivery", last, { epoch: 3, bootId: "b1", seq: 10 }, { recently: true, retiredEpoch: false }, "duplicate"],
    ["lower seq, same boot", last, { epoch: 3, bootId: "b1", seq: 9 }, fresh, "replayed"],
    ["lower seq, new boot, same epoch", last, { epoch: 3, bootId: "b2", seq: 1 }, fresh, "replayed"],
    ["same seq, other boot", last, { epoch: 3, bootId: "b9", seq: 10 }, fresh, "replayed"],
    ["new epoch from 0 (factory reset)", last, { epoch: 4, bootId: "b3", seq: 0 }, fresh, "accepted"],
    [
      "an epoch already left",
      last,
      { epoch: 2, bootId: "b0", seq: 99 },
      { recently: false, retiredEpoch: true },
      "replayed",
    ],
  ] as const)("%s", (_, previous, hb, seen, kind) => {
    expect(judgeHeartbeat(previous, hb, seen).kind).toBe(kind);
  });
});
