/**
 * Test-only: a tiny factory-protocol client over any SerialLink (the station's side, minus everything a station
 * adds), and record fixtures. Used by the responder tests, the torn-write tests in firmware-sim and the PTY tests.
 */
import {
  decodeFactoryResponse,
  derivePopVerifier,
  encodeFactoryRequestFrame,
  type FactoryAuthAction,
  FactoryFrameDecoder,
  type FactoryRecord,
  type FactoryRequest,
  type FactoryResponse,
  factoryAnchorPublicKey,
  signFactoryAuth,
} from "@triadkit/protocol";
import type { SerialLink } from "../../modem/serial-link.js";

export const TEST_SECRET = "Zq9xWv8uTs7rQp6oNm5lKj4iHg3fEd2c";
export const TEST_POP = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
/** The pool's anchor seed (the station keeps it sealed; tests sign with it). */
export const ANCHOR_SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
export const OTHER_SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);

export function testRecord(overrides: Partial<FactoryRecord> = {}): FactoryRecord {
  return {
    v: 1,
    triad: { family: "alibaba", productKey: "a1FactTest1", deviceName: "fixture-0001", deviceSecret: TEST_SECRET },
    pop: derivePopVerifier(
      TEST_POP,
      Uint8Array.from({ length: 16 }, (_, i) => i),
    ),
    shelf: { storeId: 4201, deviceCode: "SHELF-0001" },
    anchor: { poolId: "pool-1", publicKey: factoryAnchorPublicKey(ANCHOR_SEED) },
    stationId: "station-1",
    workOrderId: "WO-1",
    triadId: "triad-1",
    writtenAt: 1_760_000_000_000,
    ...overrides,
  };
}

export function signAuth(action: FactoryAuthAction, chipId: string, challenge: Uint8Array, seed = ANCHOR_SEED) {
  return signFactoryAuth(seed, action, chipId, challenge);
}

/** Sends requests one at a time and waits for the answer with the same request id. */
export class FactoryTestClient {
  private readonly decoder = new FactoryFrameDecoder();
  private readonly waiting = new Map<number, (response: FactoryResponse) => void>();
  private nextId = 1;
  readonly framingErrors: string[] = [];
  private readonly off: () => void;

  constructor(readonly link: SerialLink) {
    this.off = link.onData((chunk) => {
      const { packets, errors } = this.decoder.push(chunk);
      for (const e of errors) this.framingErrors.push(e.code);
      for (const p of packets) {
        const resolve = this.waiting.get(p.requestId);
        this.waiting.delete(p.requestId);
        resolve?.(decodeFactoryResponse(p.body));
      }
    });
  }

  /** Sends `request` (after `before` raw bytes, e.g. noise) and resolves with its answer; rejects after `timeoutMs`. */
  request(
    request: FactoryRequest,
    options: { before?: Uint8Array; timeoutMs?: number } = {},
  ): Promise<FactoryResponse> {
    const id = this.nextId++;
    return this.requestBytes(id, encodeFactoryRequestFrame(id, request), options);
  }

  /** Sends an already framed packet with this request id and waits for that id's answer. */
  requestBytes(
    id: number,
    frame: Uint8Array,
    options: { before?: Uint8Array; timeoutMs?: number } = {},
  ): Promise<FactoryResponse> {
    const answer = new Promise<FactoryResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no answer to request ${id}`));
      }, options.timeoutMs ?? 5_000);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    // A leading 0x00 ends whatever noise the line held, as a station does.
    const out = new Uint8Array([...(options.before ?? []), 0, ...frame]);
    void this.link.write(out);
    return answer;
  }

  /** A request id for {@link requestBytes}. */
  takeId(): number {
    return this.nextId++;
  }

  close(): void {
    this.off();
  }
}

/** Narrows a response to the expected type or fails with what came instead. */
export function expectType<T extends FactoryResponse["t"]>(
  response: FactoryResponse,
  t: T,
): Extract<FactoryResponse, { t: T }> {
  if (response.t !== t) throw new Error(`expected ${t}, got ${JSON.stringify(response)}`);
  return response as Extract<FactoryResponse, { t: T }>;
}
