import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { TriadkitError, toHex } from "@triadkit/protocol";
import { CryptoRandom, type Random } from "../random.js";
import { ProvisioningClient } from "./ble-provisioner.js";
import { ProvisioningCore, type ProvisioningCoreOptions } from "./provisioning-core.js";

/**
 * SoftAP transport: the same provisioning messages over HTTP on the device's access point.
 * - `POST /prov/session`  body: Hello (CBOR) → Welcome; sets the cookie `tk_session` (a new session replaces the old).
 * - `POST /prov/request`  body: one flight, each record prefixed by its 2-byte big-endian length → the answers, framed
 *   the same way. Needs the current `tk_session` cookie (else 409).
 * - `GET  /prov/status`   JSON `{ state, provisioned, locked }`: public, no secrets.
 * Bodies are `application/octet-stream`, at most 16 KiB. Putting the device's own access point up (open or WPA2) is
 * the board's job; an open-network AP is an opt-in feature, off by default.
 */
export interface SoftApServiceOptions extends ProvisioningCoreOptions {
  /** Default 192.168.4.1 on a board; tests use 127.0.0.1. */
  readonly host?: string;
  /** Default 80 on a board; 0 = a free port. */
  readonly port?: number;
}

const MAX_BODY = 16 * 1024;

export function frameRecords(records: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(records.reduce((n, r) => n + 2 + r.length, 0));
  let offset = 0;
  for (const r of records) {
    if (r.length > 0xffff) throw new TriadkitError("prov.frame_too_large", "record larger than 65535 bytes");
    out[offset] = r.length >> 8;
    out[offset + 1] = r.length & 0xff;
    out.set(r, offset + 2);
    offset += 2 + r.length;
  }
  return out;
}

export function unframeRecords(body: Uint8Array): Uint8Array[] {
  const records: Uint8Array[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (offset + 2 > body.length) throw new TriadkitError("prov.bad_message", "truncated record length");
    const length = ((body[offset] as number) << 8) | (body[offset + 1] as number);
    if (offset + 2 + length > body.length) throw new TriadkitError("prov.bad_message", "truncated record");
    records.push(body.slice(offset + 2, offset + 2 + length));
    offset += 2 + length;
  }
  return records;
}

export class SoftApProvisioningService extends ProvisioningCore {
  private server: Server | undefined;
  private sessionCookie: string | undefined;
  private readonly rng: Random;

  constructor(private readonly apOptions: SoftApServiceOptions) {
    super({ ...apOptions, capabilities: ["softap", ...(apOptions.capabilities ?? [])] });
    this.rng = apOptions.random ?? new CryptoRandom();
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | undefined;
    if (!a) throw new TriadkitError("prov.session_state", "the SoftAP service is not started");
    return `http://${a.address}:${a.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.route(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(this.apOptions.port ?? 80, this.apOptions.host ?? "192.168.4.1", () => resolve());
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method === "GET" && req.url === "/prov/status") {
        return send(res, 200, "application/json", JSON.stringify(this.publicState()));
      }
      if (req.method !== "POST" || (req.url !== "/prov/session" && req.url !== "/prov/request")) {
        return send(res, 404, "text/plain", "not found");
      }
      const body = await readBody(req);
      if (req.url === "/prov/session") {
        this.linkClosed(); // a new session replaces the old one
        this.sessionCookie = toHex(this.rng.bytes(16));
        const answer = await this.onMessage(body);
        res.setHeader("set-cookie", `tk_session=${this.sessionCookie}; HttpOnly; SameSite=Strict; Path=/prov`);
        return send(res, 200, "application/octet-stream", answer.reply ?? new Uint8Array());
      }
      const cookie = /(?:^|;\s*)tk_session=([0-9a-f]{32})/.exec(req.headers.cookie ?? "")?.[1];
      if (cookie === undefined || cookie !== this.sessionCookie) return send(res, 409, "text/plain", "no session");
      const answers: Uint8Array[] = [];
      for (const record of unframeRecords(body)) {
        const answer = await this.onMessage(record);
        if (answer.reply) answers.push(answer.reply);
        if (answer.close) {
          this.sessionCookie = undefined;
          break;
        }
      }
      return send(res, 200, "application/octet-stream", frameRecords(answers));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "bad SoftAP request");
      return send(res, 400, "text/plain", "bad request");
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new TriadkitError("prov.frame_too_large", "request body too large");
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** The provisioner over SoftAP (the phone joined the device's access point). */
export class SoftApProvisioningClient extends ProvisioningClient {
  private cookie = "";

  private constructor(
    private readonly baseUrl: string,
    pop: Uint8Array,
    random: Random,
  ) {
    super(pop, random);
  }

  static async connect(options: { url: string; pop: Uint8Array; random?: Random }): Promise<SoftApProvisioningClient> {
    const client = new SoftApProvisioningClient(options.url, options.pop, options.random ?? new CryptoRandom());
    await client.handshake();
    return client;
  }

  protected async exchange(messages: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const first = this.session.state === "awaiting_welcome";
    const res = await fetch(`${this.baseUrl}${first ? "/prov/session" : "/prov/request"}`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", ...(this.cookie ? { cookie: this.cookie } : {}) },
      body: first ? (messages[0] as Uint8Array) : frameRecords(messages),
    });
    if (!res.ok) throw new TriadkitError("prov.session_state", `SoftAP request refused (HTTP ${res.status})`);
    const setCookie = res.headers.get("set-cookie");
    if (setCookie) this.cookie = setCookie.split(";")[0] as string;
    const body = new Uint8Array(await res.arrayBuffer());
    return first ? [body] : unframeRecords(body);
  }

  async close(): Promise<void> {}
}
