import {
  type ClientSession,
  createClientSession,
  decodeProvResponse,
  encodeProvMessage,
  fragment,
  type ProvRequest,
  type ProvResponse,
  Reassembler,
  TRIADKIT_PROV_REQUEST_CHAR_UUID,
  TRIADKIT_PROV_RESPONSE_CHAR_UUID,
  TRIADKIT_PROV_SERVICE_UUID,
  TriadkitError,
} from "@triadkit/protocol";
import type { BleCentral, BleConnection } from "../ble/ble.js";
import { type Clock, SystemClock } from "../clock.js";
import { CryptoRandom, type Random } from "../random.js";

type RequestBody = ProvRequest extends infer R ? (R extends ProvRequest ? Omit<R, "id"> : never) : never;

/**
 * The provisioner (phone app) side, for any transport: runs the secure session and sends requests in flights.
 * Counts round trips (one client flight plus one device flight) so tests can hold the protocol to its budget.
 */
export abstract class ProvisioningClient {
  protected readonly session: ClientSession;
  private nextId = 1;
  /** Client flights answered by the device so far. */
  roundTrips = 0;

  protected constructor(pop: Uint8Array, random: Random) {
    this.session = createClientSession({ pop, random: (n) => random.bytes(n) });
  }

  /** Sends the messages of one flight and resolves with the device's answers (one per message). */
  protected abstract exchange(messages: readonly Uint8Array[]): Promise<Uint8Array[]>;

  abstract close(): Promise<void>;

  /** Runs the Hello/Welcome round trip. */
  protected async handshake(): Promise<void> {
    const [welcome] = await this.exchange([this.session.hello]);
    this.roundTrips++;
    const plain = plainError(welcome as Uint8Array);
    if (plain) throw plain;
    this.session.receiveWelcome(welcome as Uint8Array);
  }

  /** Sends requests back to back as one flight and resolves with their responses, in order. */
  async flight(bodies: readonly RequestBody[]): Promise<ProvResponse[]> {
    const records = bodies.map((body) =>
      this.session.seal(encodeProvMessage({ ...body, id: this.nextId++ } as ProvRequest)),
    );
    const answers = await this.exchange(records);
    this.roundTrips++;
    return answers.map((record) => {
      const plain = plainError(record);
      if (plain) throw plain;
      return decodeProvResponse(this.session.open(record));
    });
  }

  async request(body: RequestBody): Promise<ProvResponse> {
    const [response] = await this.flight([body]);
    return response as ProvResponse;
  }
}

/** The device answers in clear only to refuse (back-off, bad hello, closed session). */
function plainError(bytes: Uint8Array): TriadkitError | undefined {
  let message: ProvResponse;
  try {
    message = decodeProvResponse(bytes);
  } catch {
    return undefined;
  }
  if (message.type !== "error") return undefined;
  const code =
    message.code === "backoff"
      ? "prov.backoff"
      : message.code === "pop_mismatch"
        ? "prov.pop_mismatch"
        : "prov.bad_message";
  return new TriadkitError(code, `device refused: ${message.code}`, { deviceCode: message.code });
}

/** The provisioner over BLE: GATT write of fragments to `request`, notifications on `response`. */
export class BleProvisioningClient extends ProvisioningClient {
  private readonly reassembler: Reassembler;
  private inbox: Uint8Array[] = [];
  private waiter: (() => void) | undefined;
  private seq = 0;

  private constructor(
    private readonly connection: BleConnection,
    pop: Uint8Array,
    private readonly clock: Clock,
    random: Random,
    private readonly timeoutMs: number,
  ) {
    super(pop, random);
    this.reassembler = new Reassembler({ now: () => clock.monotonicMs() });
  }

  /** Connects to `address` and establishes the secure session (one round trip). */
  static async connect(options: {
    readonly central: BleCentral;
    readonly address: string;
    /** The 16-byte PoP from the device's label (`parsePop` of the QR code). Secret. */
    readonly pop: Uint8Array;
    readonly mtu?: number;
    readonly clock?: Clock;
    readonly random?: Random;
    readonly timeoutMs?: number;
  }): Promise<BleProvisioningClient> {
    const connection = await options.central.connect(
      options.address,
      options.mtu === undefined ? {} : { mtu: options.mtu },
    );
    const client = new BleProvisioningClient(
      connection,
      options.pop,
      options.clock ?? new SystemClock(),
      options.random ?? new CryptoRandom(),
      options.timeoutMs ?? 10_000,
    );
    try {
      await connection.subscribe(TRIADKIT_PROV_SERVICE_UUID, TRIADKIT_PROV_RESPONSE_CHAR_UUID, (data) =>
        client.onNotify(data),
      );
      await client.handshake();
    } catch (err) {
      await connection.disconnect().catch(() => undefined);
      throw err;
    }
    return client;
  }

  get mtu(): number {
    return this.connection.mtu;
  }

  protected async exchange(messages: readonly Uint8Array[]): Promise<Uint8Array[]> {
    for (const message of messages) await this.write(message);
    return this.receive(messages.length);
  }

  async close(): Promise<void> {
    await this.connection.disconnect();
  }

  private async write(message: Uint8Array): Promise<void> {
    const seq = this.seq++ % 64;
    for (const frame of fragment(message, this.connection.mtu, { seq })) {
      await this.connection.write(TRIADKIT_PROV_SERVICE_UUID, TRIADKIT_PROV_REQUEST_CHAR_UUID, frame, false);
    }
  }

  private onNotify(data: Uint8Array): void {
    try {
      const done = this.reassembler.push(data);
      if (done === undefined) return;
      this.inbox.push(done.message);
      this.waiter?.();
    } catch {
      // A bad fragment is dropped; the request then times out.
    }
  }

  private async receive(count: number): Promise<Uint8Array[]> {
    const deadline = this.clock.monotonicMs() + this.timeoutMs;
    while (this.inbox.length < count) {
      const remaining = deadline - this.clock.monotonicMs();
      if (remaining <= 0) throw new TriadkitError("ble.timeout", "the device did not answer in time");
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, remaining);
        this.waiter = () => {
          timer.cancel();
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.inbox.splice(0, count);
  }
}

export interface ProvisionResult {
  readonly status: ProvResponse;
  readonly roundTrips: number;
}

/**
 * The whole provisioning in the minimal flow: session (1 RT), bind token + credentials + apply (1 RT), then status
 * polls until connected or failed.
 */
export async function provisionWifi(
  client: ProvisioningClient,
  options: {
    readonly ssid: string;
    /** Secret. */
    readonly password: string;
    readonly bindToken?: Uint8Array;
    readonly pollMs?: number;
    readonly maxPolls?: number;
    readonly clock?: Clock;
  },
): Promise<ProvisionResult> {
  const clock = options.clock ?? new SystemClock();
  const bodies: RequestBody[] = [
    ...(options.bindToken ? [{ type: "bind_token", token: options.bindToken } as RequestBody] : []),
    { type: "set_credentials", ssid: options.ssid, password: options.password },
    { type: "apply" },
  ];
  let status = (await client.flight(bodies)).at(-1) as ProvResponse;
  for (let i = 0; i < (options.maxPolls ?? 30); i++) {
    if (status.type !== "status" || status.state === "connected" || status.state === "failed") break;
    await new Promise<void>((resolve) => clock.setTimeout(resolve, options.pollMs ?? 200));
    status = await client.request({ type: "get_status" });
  }
  return { status, roundTrips: client.roundTrips };
}
