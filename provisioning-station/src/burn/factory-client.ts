/**
 * The station's end of the factory protocol on one serial link: one request at a time, each answered or timed
 * out. Responses are matched by request id; a late answer to an earlier, timed-out request is dropped, and so is
 * line noise (the frame decoder resynchronises on 0x00). A device `error` answer becomes `factory.device_error`
 * with the device's code in `context.deviceCode`; no answer in time is `factory.timeout`; a closed link is
 * `station.port_failed`.
 *
 * Nothing here logs or keeps a secret: `write_record` carries one (inside the record) only on the wire.
 */
import {
  decodeFactoryResponse,
  encodeFactoryRequestFrame,
  expectFactoryResponse,
  FACTORY_NONCE_BYTES,
  type FactoryErrorCode,
  FactoryFrameDecoder,
  type FactoryHello,
  type FactoryRecord,
  type FactoryRequest,
  type FactoryResponse,
  isTriadkitError,
  TriadkitError,
} from "@triadkit/protocol";
import type { Random, SerialLink } from "@triadkit/sdk";

export const DEFAULT_REQUEST_TIMEOUT_MS = 2000;

type Answer<T extends FactoryResponse["t"]> = Extract<FactoryResponse, { t: T }>;

interface Pending {
  readonly id: number;
  resolve(response: FactoryResponse): void;
  reject(error: Error): void;
}

export interface FactoryClientOptions {
  readonly link: SerialLink;
  readonly random: Random;
  /** Per request; default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Where the link is (for error context): a fixture name or port path. */
  readonly where?: string;
}

/** The device's error code of a `factory.device_error`, if that is what `err` is. */
export function deviceErrorCode(err: unknown): FactoryErrorCode | undefined {
  if (!isTriadkitError(err, "factory.device_error")) return undefined;
  return err.context?.["deviceCode"] as FactoryErrorCode | undefined;
}

export class FactoryClient {
  private readonly decoder = new FactoryFrameDecoder();
  private readonly offData: () => void;
  private readonly offClose: () => void;
  private nextId: number;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed: Error | undefined;
  readonly timeoutMs: number;

  constructor(private readonly options: FactoryClientOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const r = options.random.bytes(2);
    this.nextId = ((r[0] ?? 0) << 8) | (r[1] ?? 0);
    this.offData = options.link.onData((chunk) => this.onData(chunk));
    this.offClose = options.link.onClose((error) => {
      this.closed = new TriadkitError(
        "station.port_failed",
        `the serial port ${this.where} closed${error === undefined ? "" : `: ${error.message}`}`,
        { where: this.where },
      );
      this.pending?.reject(this.closed);
    });
  }

  private get where(): string {
    return this.options.where ?? "(link)";
  }

  private onData(chunk: Uint8Array): void {
    for (const packet of this.decoder.push(chunk).packets) {
      if (packet.kind !== "response" || this.pending === undefined || packet.requestId !== this.pending.id) continue;
      let response: FactoryResponse;
      try {
        response = decodeFactoryResponse(packet.body);
      } catch (err) {
        this.pending.reject(err as Error);
        continue;
      }
      this.pending.resolve(response);
    }
  }

  /** Sends one request and waits for its answer (requests are serialised). */
  request(req: FactoryRequest, timeoutMs = this.timeoutMs): Promise<FactoryResponse> {
    const run = this.queue.then(
      () => this.exchange(req, timeoutMs),
      () => this.exchange(req, timeoutMs),
    );
    this.queue = run.catch(() => {});
    return run;
  }

  private exchange(req: FactoryRequest, timeoutMs: number): Promise<FactoryResponse> {
    if (this.closed !== undefined) return Promise.reject(this.closed);
    this.nextId = (this.nextId + 1) & 0xffff;
    const id = this.nextId;
    return new Promise<FactoryResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(
          new TriadkitError("factory.timeout", `no answer to ${req.t} from ${this.where} within ${timeoutMs} ms`, {
            request: req.t,
            where: this.where,
            timeoutMs,
          }),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        if (this.pending?.id === id) this.pending = undefined;
      };
      this.pending = {
        id,
        resolve: (response) => {
          done();
          try {
            resolve(expectFactoryResponse(req.t, response));
          } catch (err) {
            reject(err);
          }
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      this.options.link.write(encodeFactoryRequestFrame(id, req)).catch((err: unknown) => {
        this.pending?.reject(
          new TriadkitError("station.port_failed", `cannot write to ${this.where}: ${(err as Error).message}`, {
            where: this.where,
          }),
        );
      });
    });
  }

  private async expect<T extends FactoryResponse["t"]>(
    req: FactoryRequest,
    t: T,
    timeoutMs?: number,
  ): Promise<Answer<T>> {
    const response = await this.request(req, timeoutMs);
    if (response.t === "error") {
      throw new TriadkitError(
        "factory.device_error",
        `the device on ${this.where} refused ${req.t}: ${response.code}${response.message === undefined ? "" : ` (${response.message})`}`,
        { deviceCode: response.code, request: req.t, where: this.where },
      );
    }
    if (response.t !== t) {
      throw new TriadkitError("factory.bad_message", `the device answered ${req.t} with ${response.t}`, {
        request: req.t,
        response: response.t,
      });
    }
    return response as Answer<T>;
  }

  hello(timeoutMs?: number): Promise<FactoryHello> {
    return this.expect(
      { t: "hello", stationNonce: this.options.random.bytes(FACTORY_NONCE_BYTES) },
      "hello",
      timeoutMs,
    );
  }

  writeRecord(record: FactoryRecord): Promise<Answer<"written">> {
    return this.expect({ t: "write_record", record }, "written");
  }

  /** Returns the answer with the station nonce it was asked with. */
  async verify(): Promise<Answer<"verified"> & { readonly stationNonce: Uint8Array }> {
    const stationNonce = this.options.random.bytes(FACTORY_NONCE_BYTES);
    const answer = await this.expect({ t: "verify", stationNonce }, "verified");
    return { ...answer, stationNonce };
  }

  lock(): Promise<Answer<"ok">> {
    return this.expect({ t: "lock" }, "ok");
  }

  unlock(signature: Uint8Array): Promise<Answer<"ok">> {
    return this.expect({ t: "unlock", signature }, "ok");
  }

  factoryReset(signature: Uint8Array): Promise<Answer<"ok">> {
    return this.expect({ t: "factory_reset", signature }, "ok");
  }

  /** Stops listening; the link itself belongs to the caller. */
  close(): void {
    this.offData();
    this.offClose();
    this.pending?.reject(new TriadkitError("station.port_failed", `the factory client on ${this.where} was closed`));
  }
}
