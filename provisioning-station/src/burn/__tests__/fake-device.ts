/**
 * A minimal factory device for the station's own tests: the protocol's rules in a few lines, kept in memory, with
 * behaviours (zwave-js style, newest first) to make it misbehave: a wrong verify MAC, silence, a lost answer.
 * It outlives its link: `attach` puts it on a new one (the station restarted; the board stayed on the fixture).
 */
import {
  checkFactoryAuth,
  computeVerifyMac,
  decodeFactoryRequest,
  encodeFactoryResponseFrame,
  FactoryFrameDecoder,
  type FactoryHello,
  type FactoryRecord,
  type FactoryRequest,
  type FactoryResponse,
  factoryIdentityOf,
  factoryRecordHash,
  factorySecretOf,
} from "@triadkit/protocol";
import { CryptoRandom, type SerialLink } from "@triadkit/sdk";

/** What a behaviour returns: an answer, "silent" (no answer), or undefined (not handled: next behaviour). */
export type FakeReply = FactoryResponse | "silent" | undefined;
export type FakeBehaviour = (req: FactoryRequest, device: FakeDevice) => FakeReply;

export interface FakeDeviceOptions {
  readonly chipId: string;
  readonly model?: string;
  readonly firmware?: string;
}

const random = new CryptoRandom();

export class FakeDevice {
  record: FactoryRecord | undefined;
  locked = false;
  challenge: Uint8Array | undefined;
  readonly behaviours: FakeBehaviour[] = [];
  readonly requests: string[] = [];
  private detach: (() => void) | undefined;

  constructor(readonly options: FakeDeviceOptions) {}

  get state(): FactoryHello["state"] {
    return this.record === undefined ? "blank" : this.locked ? "locked" : "provisioned";
  }

  /** Adds a behaviour that is asked first. */
  behave(b: FakeBehaviour): this {
    this.behaviours.unshift(b);
    return this;
  }

  attach(link: SerialLink): this {
    this.detach?.();
    const decoder = new FactoryFrameDecoder();
    const off = link.onData((chunk) => {
      for (const p of decoder.push(chunk).packets) {
        if (p.kind !== "request") continue;
        const req = decodeFactoryRequest(p.body);
        this.requests.push(req.t);
        const reply = this.answer(req);
        if (reply !== "silent" && reply !== undefined && link.isOpen) {
          link.write(encodeFactoryResponseFrame(p.requestId, reply)).catch(() => {});
        }
      }
    });
    this.detach = off;
    return this;
  }

  private answer(req: FactoryRequest): FakeReply {
    for (const b of this.behaviours) {
      const r = b(req, this);
      if (r !== undefined) return r;
    }
    return this.standard(req);
  }

  standard(req: FactoryRequest): FactoryResponse {
    const err = (code: Extract<FactoryResponse, { t: "error" }>["code"]): FactoryResponse => ({ t: "error", code });
    switch (req.t) {
      case "hello":
        this.challenge = random.bytes(16);
        return this.hello(this.challenge);
      case "write_record": {
        if (this.locked) return err("locked");
        const hash = factoryRecordHash(req.record);
        if (this.record !== undefined && !same(factoryRecordHash(this.record), hash)) return err("not_blank");
        this.record = req.record;
        return { t: "written", recordHash: hash };
      }
      case "verify": {
        if (this.record === undefined) return err("no_record");
        const deviceNonce = random.bytes(16);
        const recordHash = factoryRecordHash(this.record);
        const secret = factorySecretOf(this.record.triad);
        const mac = computeVerifyMac(secret, deviceNonce, req.stationNonce, this.options.chipId, recordHash);
        return { t: "verified", deviceNonce, recordHash, mac };
      }
      case "lock":
        if (this.record === undefined) return err("no_record");
        this.locked = true;
        return { t: "ok", state: "locked" };
      case "unlock":
      case "factory_reset": {
        const challenge = this.challenge;
        this.challenge = undefined;
        if (this.record === undefined) return err("no_record");
        if (challenge === undefined) return err("no_challenge");
        if (!checkFactoryAuth(this.record.anchor.publicKey, req.t, this.options.chipId, challenge, req.signature)) {
          return err("bad_signature");
        }
        if (req.t === "unlock") this.locked = false;
        else {
          this.record = undefined;
          this.locked = false;
        }
        return { t: "ok", state: this.state };
      }
    }
  }

  hello(challenge: Uint8Array): FactoryHello {
    const r = this.record;
    return {
      t: "hello",
      protocolVersion: 1,
      chipId: this.options.chipId,
      wifiMac: `${this.options.chipId.slice(-8).padStart(8, "0")}aaaa`,
      model: this.options.model ?? "TK-SPK-1",
      firmware: this.options.firmware ?? "1.4.0",
      state: this.state,
      ...(r === undefined
        ? {}
        : {
            identity: factoryIdentityOf(r.triad),
            recordHash: factoryRecordHash(r),
            workOrderId: r.workOrderId,
            triadId: r.triadId,
          }),
      challenge,
    };
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
