/**
 * The device side of the factory protocol (issue 7) on the console UART: answers a provisioning station's requests,
 * one at a time in arrival order, from the {@link FactoryCredentialStore} on the device's FlashStore.
 *
 * - `hello`: chip, MACs, model, firmware, state, the held record's identity, hash, work order and triad id (never the
 *   secret), the modem's IMEI/ICCID/IMSI when there is one, and a fresh challenge (16 random bytes) that replaces
 *   any earlier one.
 * - `write_record`: refused `locked` when locked, `not_blank` when a different record is held (rework goes through
 *   unlock + factory_reset), `bad_record` when the record fails validation (its anchor key included); the same
 *   record again while unlocked answers `written` without writing (a station retrying a lost answer).
 * - `verify`: a fresh device nonce and HMAC-SHA256 under K_verify = HKDF(secret, "triadkit/verify/v1") over the
 *   nonces, the chip id and the stored record's hash (`computeVerifyMac`). The raw secret never MACs caller data.
 *   Answered when provisioned or locked.
 * - `lock`: no authentication (locking only takes power away); idempotent.
 * - `unlock` / `factory_reset`: an Ed25519 signature by the record's `anchor.publicKey` over
 *   `factoryAuthMessage(action, chipId, challenge)`. The challenge is single use: the attempt consumes it, right or
 *   wrong (`no_challenge` without a fresh hello, `bad_signature`). `factory_reset` is allowed on a locked device:
 *   the signature is the authorisation and names its action, so an unlock signature cannot reset and vice versa;
 *   one atomic delete leaves the device blank.
 * - Framing errors (noise, bad CRC, bad COBS) are logged by code and skipped; a packet of another protocol version
 *   is answered `unsupported_version`. Undecodable requests get `bad_request` (`unknown_request` for an unknown
 *   type). A storage failure is `storage_failed`.
 *
 * Every frame the responder writes starts with a 0x00, so a station whose buffer holds console noise resynchronises.
 * Secrets never reach the logger: lines carry request types, ids and codes only, and the logger is wrapped with
 * `redactSecrets` over the held and the incoming secret.
 */
import { EventEmitter } from "node:events";
import {
  checkFactoryAuth,
  computeVerifyMac,
  constantTimeEqual,
  type DeviceFactoryState,
  decodeFactoryRequest,
  encodeFactoryFrame,
  encodeFactoryResponse,
  FACTORY_NONCE_BYTES,
  FACTORY_PROTOCOL_VERSION,
  type FactoryErrorCode,
  FactoryFrameDecoder,
  type FactoryHello,
  type FactoryIdentity,
  type ModemIdentity as FactoryModemIdentity,
  type FactoryPacket,
  type FactoryRecord,
  type FactoryRequest,
  type FactoryResponse,
  factoryIdentityOf,
  isTriadkitError,
  TriadkitError,
} from "@triadkit/protocol";
import { type Clock, SystemClock } from "../clock.js";
import type { Logger } from "../logging/logger.js";
import { silentLogger } from "../logging/memory-logger.js";
import { redactSecrets } from "../logging/redact.js";
import type { SerialLink } from "../modem/serial-link.js";
import type { Random } from "../random.js";
import type { FlashStore } from "../storage/flash-store.js";
import { type FactoryCredentialSnapshot, FactoryCredentialStore } from "./credential-store.js";

/** What `hello` reports about the hardware. Not secret. */
export interface FactoryChipInfo {
  /** Lower-case hex, stable for the chip (eFuse/OTP id). */
  readonly chipId: string;
  /** 12 lower-case hex digits. */
  readonly wifiMac: string;
  readonly bleMac?: string;
  readonly model: string;
  readonly firmware: string;
}

export interface FactoryResponderOptions {
  /** The console UART (or a PTY). The responder listens on it and never closes it. */
  readonly link: SerialLink;
  /** The credentials, or the FlashStore to keep them in. */
  readonly store: FactoryCredentialStore | FlashStore;
  readonly chip: FactoryChipInfo;
  /** Reads the modem's identity for `hello` (optional; a failure or 2 s without an answer omits it). */
  readonly modem?: () => Promise<FactoryModemIdentity | undefined>;
  /** Challenges and verify nonces: a CSPRNG on a real device. */
  readonly random: Random;
  /** Challenge lifetime and the modem timeout. Default: the system clock. */
  readonly clock?: Clock;
  /** A challenge older than this is refused `no_challenge`. Default 300 000 ms. */
  readonly challengeTtlMs?: number;
  readonly logger?: Logger;
  /**
   * Set when the link is a channel the station authenticated with its anchor key (factory BLE): a `write_record`
   * whose record names another anchor is refused `bad_record`, so the key that signed the channel is the key that
   * can later unlock or reset the board.
   */
  readonly channelAnchor?: Uint8Array;
}

export interface FactoryResponderEvents {
  /** The factory state changed (written, locked, unlocked, reset). Identity only, never the record. */
  stateChanged: [change: { state: DeviceFactoryState; identity?: FactoryIdentity }];
  /** A request was answered with an error. */
  refused: [refusal: { request: string; code: FactoryErrorCode }];
  /** A frame was dropped (noise on the line, a damaged frame). */
  framingError: [error: TriadkitError];
}

export interface FactoryResponderStats {
  readonly requests: number;
  readonly refused: number;
  readonly framingErrors: number;
}

const DEFAULT_CHALLENGE_TTL_MS = 300_000;
const MODEM_TIMEOUT_MS = 2_000;

type Handler = (request: FactoryRequest) => Promise<FactoryResponse>;

/** The responder (see the module comment). Create it with {@link createFactoryResponder}. */
export class FactoryResponder extends EventEmitter<FactoryResponderEvents> {
  private readonly link: SerialLink;
  private readonly credentials: FactoryCredentialStore;
  private readonly chip: FactoryChipInfo;
  private readonly random: Random;
  private readonly clock: Clock;
  private readonly challengeTtlMs: number;
  private readonly modem: (() => Promise<FactoryModemIdentity | undefined>) | undefined;
  private readonly channelAnchor: Uint8Array | undefined;
  private readonly log: Logger;
  private readonly decoder = new FactoryFrameDecoder();
  /** Secrets the logger must never print: the held record's and the one being written. */
  private readonly secrets = new Set<string>();
  private readonly unsubscribe: (() => void)[] = [];
  private challenge: { readonly bytes: Uint8Array; readonly issuedAtMs: number } | undefined;
  private work: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly counts = { requests: 0, refused: 0, framingErrors: 0 };

  constructor(options: FactoryResponderOptions) {
    super();
    this.link = options.link;
    this.credentials =
      options.store instanceof FactoryCredentialStore ? options.store : new FactoryCredentialStore(options.store);
    this.chip = checkChip(options.chip);
    this.random = options.random;
    this.clock = options.clock ?? new SystemClock();
    this.challengeTtlMs = options.challengeTtlMs ?? DEFAULT_CHALLENGE_TTL_MS;
    this.modem = options.modem;
    this.channelAnchor = options.channelAnchor;
    this.log = redactSecrets(options.logger ?? silentLogger, () => this.secrets).child({ component: "factory" });
    this.unsubscribe.push(
      this.link.onData((chunk) => this.receive(chunk)),
      this.link.onClose(() => {
        this.closed = true;
      }),
    );
  }

  get stats(): FactoryResponderStats {
    return { ...this.counts };
  }

  /** Resolves when every request received so far has been answered. */
  async idle(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.work;
      await seen;
    } while (seen !== this.work);
  }

  /** Stops listening (the link stays open: it is the console) after answering what was received. */
  async close(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    await this.idle();
    this.closed = true;
    this.challenge = undefined;
  }

  private receive(chunk: Uint8Array): void {
    const { packets, errors } = this.decoder.push(chunk);
    for (const error of errors) this.framingError(error);
    for (const packet of packets) {
      if (packet.kind !== "request") {
        this.log.debug({ requestId: packet.requestId }, "factory: ignored a response packet");
        continue;
      }
      this.enqueue(packet.requestId, () => this.handle(packet));
    }
  }

  private framingError(error: TriadkitError): void {
    this.counts.framingErrors++;
    this.emit("framingError", error);
    const ctx = error.context as { requestId?: unknown; kind?: unknown } | undefined;
    this.log.debug({ code: error.code }, "factory: dropped a frame");
    if (error.code === "framing.bad_version" && ctx?.kind === "request" && typeof ctx.requestId === "number") {
      const requestId = ctx.requestId;
      this.enqueue(requestId, async () => this.refuse("?", "unsupported_version", "protocol version 1 only"));
    }
  }

  private enqueue(requestId: number, task: () => Promise<FactoryResponse>): void {
    this.work = this.work.then(async () => {
      let response: FactoryResponse;
      try {
        response = await task();
      } catch (err) {
        this.log.error({ requestId, code: isTriadkitError(err) ? err.code : "internal" }, "factory: request failed");
        response = this.refuse("?", "storage_failed", "the device could not complete the request");
      }
      await this.send(requestId, response);
    });
  }

  private async send(requestId: number, response: FactoryResponse): Promise<void> {
    if (this.closed) return;
    let frame: Uint8Array;
    try {
      const body = encodeFactoryResponse(response);
      frame = encodeFactoryFrame({ version: FACTORY_PROTOCOL_VERSION, kind: "response", requestId, body });
    } catch (err) {
      this.log.error({ requestId, code: isTriadkitError(err) ? err.code : "internal" }, "factory: cannot encode");
      return;
    }
    const out = new Uint8Array(frame.length + 1); // leading 0x00: the station drops any noise it buffered
    out.set(frame, 1);
    await this.link.write(out).catch((err: unknown) => {
      this.log.warn({ requestId, code: isTriadkitError(err) ? err.code : "io" }, "factory: write failed");
    });
  }

  private async handle(packet: FactoryPacket): Promise<FactoryResponse> {
    this.counts.requests++;
    let request: FactoryRequest;
    try {
      request = decodeFactoryRequest(packet.body);
    } catch (err) {
      return this.refuse("?", requestDecodeRefusal(err), "the request does not decode");
    }
    if (request.t === "write_record") this.rememberSecret(request.record);
    this.log.info({ requestId: packet.requestId, request: request.t }, "factory: request");
    const handlers: Record<FactoryRequest["t"], Handler> = {
      hello: () => this.hello(),
      write_record: (r) => this.writeRecord(r as Extract<FactoryRequest, { t: "write_record" }>),
      verify: (r) => this.verify(r as Extract<FactoryRequest, { t: "verify" }>),
      lock: () => this.lock(),
      unlock: (r) => this.authorised("unlock", (r as Extract<FactoryRequest, { t: "unlock" }>).signature),
      factory_reset: (r) =>
        this.authorised("factory_reset", (r as Extract<FactoryRequest, { t: "factory_reset" }>).signature),
    };
    const handler = handlers[request.t];
    if (handler === undefined) return this.refuse(String(request.t), "unknown_request", "unknown request");
    try {
      return await handler(request);
    } catch (err) {
      if (isTriadkitError(err) && err.code.startsWith("store.")) {
        this.log.error({ request: request.t, code: err.code }, "factory: storage failed");
        return this.refuse(request.t, "storage_failed", "the flash could not be read or written");
      }
      throw err;
    }
  }

  private async snapshot(): Promise<FactoryCredentialSnapshot> {
    const snapshot = await this.credentials.snapshot();
    if (snapshot.record !== undefined) this.rememberSecret(snapshot.record);
    return snapshot;
  }

  private rememberSecret(record: FactoryRecord): void {
    if (this.secrets.size > 8) this.secrets.clear(); // bounded: the held secret is added back at the next read
    const triad = record?.triad as { deviceSecret?: unknown; secret?: unknown } | undefined;
    for (const s of [triad?.deviceSecret, triad?.secret]) if (typeof s === "string") this.secrets.add(s);
  }

  private async hello(): Promise<FactoryHello> {
    const held = await this.snapshot();
    const modem = await this.readModem();
    const challenge = this.random.bytes(FACTORY_NONCE_BYTES);
    this.challenge = { bytes: challenge, issuedAtMs: this.clock.monotonicMs() };
    const { chipId, wifiMac, bleMac, model, firmware } = this.chip;
    const record = held.record;
    return {
      t: "hello",
      protocolVersion: FACTORY_PROTOCOL_VERSION,
      chipId,
      wifiMac,
      ...(bleMac === undefined ? {} : { bleMac }),
      model,
      firmware,
      state: held.state,
      ...(record === undefined
        ? {}
        : {
            identity: factoryIdentityOf(record.triad),
            recordHash: held.recordHash as Uint8Array,
            workOrderId: record.workOrderId,
            triadId: record.triadId,
          }),
      ...(modem === undefined ? {} : { modem }),
      challenge,
    };
  }

  private async readModem(): Promise<FactoryModemIdentity | undefined> {
    if (this.modem === undefined) return undefined;
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = this.clock.setTimeout(() => resolve(undefined), MODEM_TIMEOUT_MS);
    });
    try {
      const identity = await Promise.race([this.modem().catch(() => undefined), timeout]);
      if (identity === undefined) return undefined;
      const { imei, iccid, imsi } = identity;
      const out = {
        ...(imei === undefined ? {} : { imei }),
        ...(iccid === undefined ? {} : { iccid }),
        ...(imsi === undefined ? {} : { imsi }),
      };
      return Object.keys(out).length === 0 ? undefined : out;
    } finally {
      timer?.cancel();
    }
  }

  private async writeRecord(request: Extract<FactoryRequest, { t: "write_record" }>): Promise<FactoryResponse> {
    const channelAnchor = this.channelAnchor;
    if (channelAnchor !== undefined && !constantTimeEqual(channelAnchor, request.record.anchor.publicKey)) {
      return this.refuse(
        request.t,
        "bad_record",
        "the record names another anchor than the one that opened this channel",
      );
    }
    const result = await this.credentials.write(request.record);
    if (!result.ok) return this.refuse(request.t, result.code, result.message);
    if (!result.unchanged) {
      this.log.info({ workOrderId: request.record.workOrderId, triadId: request.record.triadId }, "factory: written");
      this.emit("stateChanged", { state: "provisioned", identity: factoryIdentityOf(request.record.triad) });
    }
    return { t: "written", recordHash: result.recordHash };
  }

  private async verify(request: Extract<FactoryRequest, { t: "verify" }>): Promise<FactoryResponse> {
    const stationNonce = request.stationNonce;
    if (!(stationNonce instanceof Uint8Array) || stationNonce.length !== FACTORY_NONCE_BYTES) {
      return this.refuse(request.t, "bad_request", `the station nonce must be ${FACTORY_NONCE_BYTES} bytes`);
    }
    const held = await this.snapshot();
    if (held.record === undefined || held.recordHash === undefined) return this.refuse(request.t, "no_record", "blank");
    const triad = held.record.triad;
    const secret = triad.family === "alibaba" ? triad.deviceSecret : triad.secret;
    const deviceNonce = this.random.bytes(FACTORY_NONCE_BYTES);
    const mac = computeVerifyMac(secret, deviceNonce, stationNonce, this.chip.chipId, held.recordHash);
    return { t: "verified", deviceNonce, recordHash: held.recordHash, mac };
  }

  private async lock(): Promise<FactoryResponse> {
    const before = await this.credentials.state();
    const result = await this.credentials.lock();
    if (!result.ok) return this.refuse("lock", result.code, result.message);
    if (before !== "locked") this.emit("stateChanged", { state: "locked" });
    return { t: "ok", state: result.state };
  }

  private async authorised(action: "unlock" | "factory_reset", signature: Uint8Array): Promise<FactoryResponse> {
    const challenge = this.challenge;
    this.challenge = undefined; // single use: consumed by this attempt, whatever its outcome
    if (challenge === undefined || this.clock.monotonicMs() - challenge.issuedAtMs > this.challengeTtlMs) {
      return this.refuse(action, "no_challenge", "send hello first: the challenge is single use");
    }
    const held = await this.snapshot();
    if (held.record === undefined) return this.refuse(action, "no_record", "blank");
    if (!checkFactoryAuth(held.record.anchor.publicKey, action, this.chip.chipId, challenge.bytes, signature)) {
      return this.refuse(action, "bad_signature", "not signed by the factory anchor");
    }
    if (action === "unlock") {
      const result = await this.credentials.unlock();
      if (!result.ok) return this.refuse(action, result.code, result.message);
      if (held.state !== "provisioned") this.emit("stateChanged", { state: "provisioned" });
      return { t: "ok", state: result.state };
    }
    await this.credentials.clear();
    this.log.info({ workOrderId: held.record.workOrderId, triadId: held.record.triadId }, "factory: reset");
    this.emit("stateChanged", { state: "blank" });
    return { t: "ok", state: "blank" };
  }

  private refuse(request: string, code: FactoryErrorCode, message: string): FactoryResponse {
    this.counts.refused++;
    this.log.info({ request, code }, "factory: refused");
    this.emit("refused", { request, code });
    return { t: "error", code, message };
  }
}

/** A copy of `chip`, or `config.invalid` when `hello` could not carry it (chip id, MACs, model, firmware). */
function checkChip(chip: FactoryChipInfo): FactoryChipInfo {
  const { chipId, wifiMac, bleMac, model, firmware } = chip;
  const copy: FactoryChipInfo = { chipId, wifiMac, ...(bleMac === undefined ? {} : { bleMac }), model, firmware };
  try {
    encodeFactoryResponse({
      t: "hello",
      protocolVersion: FACTORY_PROTOCOL_VERSION,
      ...copy,
      state: "blank",
      challenge: new Uint8Array(FACTORY_NONCE_BYTES),
    });
  } catch (err) {
    throw new TriadkitError(
      "config.invalid",
      "factory responder: chip info is not valid for hello (chipId 8-64 lower-case hex, MACs 12 lower-case hex)",
      isTriadkitError(err) ? { field: (err.context as { field?: unknown } | undefined)?.field } : undefined,
      { cause: err },
    );
  }
  return copy;
}

/**
 * Which code answers a request body that does not decode: `unknown_request` for an unknown type tag, `bad_record`
 * when the factory record inside `write_record` is what failed (the codec names the record in its message),
 * `bad_request` otherwise.
 */
function requestDecodeRefusal(err: unknown): FactoryErrorCode {
  if (!isTriadkitError(err)) return "bad_request";
  const field = (err.context as { field?: unknown } | undefined)?.field;
  if (field === "t" && err.message.startsWith("factory request:")) return "unknown_request";
  if (field === "record" || err.message.startsWith("factory record")) return "bad_record";
  return "bad_request";
}

/** Starts answering factory requests on `options.link` (see {@link FactoryResponder}). */
export function createFactoryResponder(options: FactoryResponderOptions): FactoryResponder {
  return new FactoryResponder(options);
}
