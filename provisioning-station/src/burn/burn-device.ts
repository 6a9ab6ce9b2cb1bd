/**
 * One device on one fixture: hello → (a held record is reconciled, see ./reconcile.ts) → the work order's model and
 * minimum firmware → (`--shelf`: the chip's smart-shelf device code) → reserve → link the chip with a fresh PoP
 * (sealed; and the shelf code, in the same ledger step) → write_record → written → verify (the station's own
 * record hash, a random station nonce) → lock → verified.
 *
 * Pipelining: the write-ahead steps (reserve, and the link with the record's hash and sealed PoP) are durable before
 * the record is sent. After that, `written` (the device answered the write with the record's hash) is committed while
 * the verify request is on the wire, and `verified` (the device proved the record with its MAC) while the lock
 * request is: the wire and the ledger's fsyncs overlap. A crash in either window leaves the ledger one step behind
 * a device that holds the linked record, which reconcile settles (./reconcile.ts: verify, lock if not yet, then
 * written/verified); a lock that fails after `verified` was recorded quarantines the triad as before.
 *
 * Safe retries: hello, verify and lock are repeated after a timeout. A write whose answer is lost is settled by
 * asking hello again: the device shows this record (written), or is still blank (written once more: the device
 * takes the same record again as a no-op), or anything else (quarantined). Every failure after reserve that leaves
 * doubt quarantines the triad with the reason; nothing is ever reissued.
 */
import {
  derivePopVerifier,
  type FactoryHello,
  type FactoryRecord,
  type FactoryTriad,
  factoryRecordHash,
  generatePop,
  isTriadkitError,
  POP_SALT_BYTES,
  TriadkitError,
  toHex,
} from "@triadkit/protocol";
import type { TriadIdentity, TriadRecord, WorkOrder } from "../ledger/types.js";
import {
  actorFor,
  type BurnContext,
  type DeviceOutcome,
  deviceOf,
  failure,
  lockDevice,
  quarantine,
  retrying,
  sameBytes,
  triadOf,
  verifyOnDevice,
} from "./device-steps.js";
import { deviceErrorCode, type FactoryClient } from "./factory-client.js";
import { reconcileHeld } from "./reconcile.js";
import { checkDeviceFitsOrder } from "./work-order-check.js";

function factoryTriad(identity: TriadIdentity, secret: string): FactoryTriad {
  return identity.family === "alibaba"
    ? { family: "alibaba", productKey: identity.productKey, deviceName: identity.deviceName, deviceSecret: secret }
    : { family: "genie", productId: identity.productId, mac: identity.mac, secret };
}

/** The device on this fixture, once: burnt, reconciled, or refused with a code. Never throws. */
export async function processDevice(
  ctx: BurnContext,
  client: FactoryClient,
  fixture: string,
  order: WorkOrder | undefined,
  known?: FactoryHello,
): Promise<DeviceOutcome> {
  let hello = known;
  try {
    hello ??= await retrying(ctx, () => client.hello());
    if (hello.state !== "blank") return await reconcileHeld(ctx, client, fixture, hello);
    if (order === undefined) {
      throw new TriadkitError("ledger.unknown_work_order", "burning a blank device needs --work-order");
    }
    checkDeviceFitsOrder(order, hello);
    if (ctx.holdReservations !== undefined) throw ctx.holdReservations;
    await clearStaleLink(ctx, fixture, hello);
    return await burnBlank(ctx, client, fixture, order, hello);
  } catch (err) {
    return failure(fixture, err, deviceOf(hello));
  }
}

/**
 * A blank chip whose ledger link is still active does not hold that triad: quarantine the triad (an alert when it
 * had been verified: the device lost its record) and mark the link off the device, so the chip can take a fresh one.
 */
async function clearStaleLink(ctx: BurnContext, fixture: string, hello: FactoryHello): Promise<void> {
  const active = (await ctx.ledger.deviceLinksByChip(hello.chipId)).filter((l) => l.status === "active");
  for (const link of active) {
    const t = await ctx.ledger.getTriad(link.triadId);
    if (t === undefined) continue;
    const lost = t.state === "verified" || t.state === "registered";
    const reason = lost
      ? `device chip ${hello.chipId} came back blank: it lost verified triad ${t.id} (flash erased or reset outside rework)`
      : `interrupted burn: device chip ${hello.chipId} is blank, the record of triad ${t.id} never landed`;
    if (lost) ctx.alert("factory.record_mismatch", reason, { fixture, chipId: hello.chipId, triadId: t.id });
    if (t.state === "quarantined" || t.state === "void") {
      await ctx.ledger.setDeviceLinkStatus(t.id, "voided", reason, actorFor(ctx, fixture));
    } else {
      await quarantine(ctx, fixture, t.id, reason, { chipId: hello.chipId }, "voided");
    }
  }
}

async function burnBlank(
  ctx: BurnContext,
  client: FactoryClient,
  fixture: string,
  order: WorkOrder,
  hello: FactoryHello,
): Promise<DeviceOutcome> {
  const actor = actorFor(ctx, fixture);
  // The shelf code first: none left fails here, before a triad is reserved. The chip keeps it for a later attempt.
  const held = ctx.shelf === undefined ? undefined : await ctx.ledger.assignShelfDevice(hello.chipId, ctx.shelf, actor);
  const shelf = held === undefined ? undefined : { storeId: held.storeId, deviceCode: held.deviceCode };
  const triad = await ctx.ledger.reserve(order.id, actor);
  const out = { fixture, ...deviceOf(hello), triad: triadOf(triad), ...(shelf === undefined ? {} : { shelf }) };
  let step = "prepare the record";
  try {
    const record = prepareRecord(ctx, triad, order, shelf);
    const recordHash = factoryRecordHash(record.record);
    step = "link the device";
    await ctx.ledger.linkDevice(
      triad.id,
      {
        chipId: hello.chipId,
        wifiMac: hello.wifiMac,
        ...(hello.bleMac === undefined ? {} : { bleMac: hello.bleMac }),
        model: hello.model,
        firmware: hello.firmware,
        recordHash,
        writtenAt: record.record.writtenAt,
        ...(hello.modem === undefined ? {} : { modem: hello.modem }),
        sealedPop: record.sealedPop,
        popSalt: record.record.pop.salt,
        ...(shelf === undefined ? {} : { shelf }),
      },
      actor,
    );
    step = "write the record";
    await writeRecord(ctx, client, hello.chipId, triad.id, record.record, recordHash);
    const details = { chipId: hello.chipId, recordHash: toHex(recordHash) };
    // From here on the ledger steps only record what the device has already shown, so each one runs while the next
    // request is on the wire instead of between round trips (see "Pipelining" above).
    step = "verify";
    await alongside(verifyOnDevice(ctx, client, hello.chipId, triad, recordHash), () =>
      ctx.ledger.transition(triad.id, { to: "written", actor, expect: "reserved", details }),
    );
    step = "lock";
    await alongside(lockDevice(ctx, client), () =>
      ctx.ledger.transition(triad.id, { to: "verified", actor, expect: "written", details: { chipId: hello.chipId } }),
    );
    return { ...out, result: "pass", action: "burnt" };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    let done = false;
    try {
      done = await quarantine(ctx, fixture, triad.id, `burn failed at "${step}": ${why}`, {
        chipId: hello.chipId,
        code: isTriadkitError(err) ? err.code : "internal.unexpected",
      });
    } catch (qerr) {
      ctx.alert("ledger.busy", `could not quarantine triad ${triad.id}: ${(qerr as Error).message}`, {
        triadId: triad.id,
      });
    }
    return failure(fixture, err, { ...out, action: done ? "quarantined" : "refused" });
  }
}

/**
 * Runs a ledger step while a device request (already sent) is in flight, and waits for both. The ledger's failure
 * wins over the device's (it is the one that leaves the ledger behind); either fails the burn.
 */
async function alongside(device: Promise<void>, ledgerStep: () => Promise<unknown>): Promise<void> {
  const [ledger, answer] = await Promise.allSettled([ledgerStep(), device]);
  if (ledger.status === "rejected") throw ledger.reason;
  if (answer.status === "rejected") throw answer.reason;
}

function prepareRecord(
  ctx: BurnContext,
  triad: TriadRecord,
  order: WorkOrder,
  shelf: FactoryRecord["shelf"],
): { record: FactoryRecord; sealedPop: Uint8Array } {
  const pop = generatePop(ctx.random.bytes(16));
  try {
    const record: FactoryRecord = {
      v: 1,
      triad: factoryTriad(triad.identity, ctx.keyring.open(triad.id, triad.sealedSecret)),
      pop: derivePopVerifier(pop, ctx.random.bytes(POP_SALT_BYTES)),
      ...(shelf === undefined ? {} : { shelf }),
      anchor: { poolId: ctx.anchor.poolId, publicKey: ctx.anchor.publicKey },
      stationId: ctx.stationId,
      workOrderId: order.id,
      triadId: triad.id,
      writtenAt: ctx.now(),
    };
    return { record, sealedPop: ctx.keyring.sealPop(triad.id, pop) };
  } finally {
    pop.fill(0);
  }
}

/** Sends the record; a lost or refused answer is settled by asking hello. Throws when in doubt. */
async function writeRecord(
  ctx: BurnContext,
  client: FactoryClient,
  chipId: string,
  triadId: string,
  record: FactoryRecord,
  recordHash: Uint8Array,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let error: unknown;
    try {
      const answer = await client.writeRecord(record);
      if (sameBytes(answer.recordHash, recordHash)) return;
      error = new TriadkitError(
        "factory.verify_failed",
        `device chip ${chipId} stored a record with another hash than the one sent`,
        { chipId, triadId },
      );
    } catch (err) {
      const code = deviceErrorCode(err);
      if (code === "bad_record" || code === "storage_failed" || code === "bad_request") throw err;
      error = err;
    }
    // Lost answer, a refusal, or a hash mismatch: what does the device hold now?
    const now = await retrying(ctx, () => client.hello());
    if (now.chipId !== chipId) {
      throw new TriadkitError(
        "factory.record_mismatch",
        `another device (chip ${now.chipId}) answers on this fixture`,
        {
          chipId,
        },
      );
    }
    if (now.state !== "blank" && now.triadId === triadId && sameBytes(now.recordHash, recordHash)) return;
    if (now.state !== "blank" || attempt >= ctx.retries) throw error;
  }
}
