/**
 * The emulator's local admin endpoint for product tables. **Invented**: the real platform has no such endpoint (an
 * ISV would call the IoT Platform's cloud API, e.g. InvokeThingService, signed with an AccessKey); it exists so a
 * station or a script can reach `emulator.products` over HTTP. No authentication: it listens on the emulator's host
 * (loopback by default) and must not be exposed.
 *
 * - `POST /admin/product-tables/push`, JSON `{"table": <wire table>, "devices": [{"productKey","deviceName"}…],
 *   "timeoutMs"?: n}` → 200 `{"results": [ProductPushResult…]}` (in the order of `devices`). The table is forwarded
 *   as given (the device judges it); it must be an object with a numeric `version`.
 * - `GET /admin/product-tables/acks` → 200 `{"devices": [ProductAckRecord…]}`.
 * - `GET /admin/product-tables/acks/{productKey}/{deviceName}` → 200 a ProductAckRecord, or 404.
 *
 * Errors: 400 `{"error":{"code","message"}}` for a malformed request, 404 unknown path, 405 wrong method, 413 a body
 * over 256 KiB.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { DeviceIdentity } from "@triadkit/protocol";
import { closeServer, listen, sendJson, urlOf } from "../emulator/listeners.js";
import type { ProductTablePush } from "./product-push.js";

export const PRODUCT_ADMIN_PREFIX = "/admin/product-tables";
const MAX_BODY_BYTES = 256 * 1024;
const MAX_DEVICES = 10_000;

export interface ProductAdminServer {
  /** `http://host:port`. */
  readonly url: string;
  close(): Promise<void>;
}

class BadRequest extends Error {}

const send = sendJson;

function badRequest(res: ServerResponse, message: string): void {
  send(res, 400, { error: { code: "config.invalid", message } });
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parsePush(body: Buffer): {
  table: Record<string, unknown>;
  devices: DeviceIdentity[];
  timeoutMs?: number;
} {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    throw new BadRequest("the body is not JSON");
  }
  const v = value as { table?: unknown; devices?: unknown; timeoutMs?: unknown } | null;
  if (typeof v !== "object" || v === null) throw new BadRequest("the body must be a JSON object");
  const table = v.table as Record<string, unknown> | null | undefined;
  if (typeof table !== "object" || table === null || Array.isArray(table) || typeof table["version"] !== "number") {
    throw new BadRequest("table must be a product table object with a numeric version");
  }
  if (!Array.isArray(v.devices) || v.devices.length > MAX_DEVICES) {
    throw new BadRequest(`devices must be a list of at most ${MAX_DEVICES} {productKey, deviceName}`);
  }
  const devices = v.devices.map((d: unknown) => {
    const { productKey, deviceName } = (d ?? {}) as { productKey?: unknown; deviceName?: unknown };
    if (typeof productKey !== "string" || typeof deviceName !== "string" || productKey === "" || deviceName === "") {
      throw new BadRequest("every device needs productKey and deviceName");
    }
    return { productKey, deviceName };
  });
  const t = v.timeoutMs;
  if (t !== undefined && (typeof t !== "number" || !Number.isInteger(t) || t < 100 || t > 120_000)) {
    throw new BadRequest("timeoutMs must be a whole number of milliseconds in [100, 120000]");
  }
  return { table, devices, ...(t === undefined ? {} : { timeoutMs: t as number }) };
}

async function handle(products: ProductTablePush, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "").split("?")[0] ?? "";
  const method = req.method ?? "GET";
  const only = (allowed: string) => {
    if (method === allowed) return true;
    res.setHeader("allow", allowed);
    send(res, 405, { error: { code: "method_not_allowed", message: `use ${allowed}` } });
    return false;
  };
  if (path === `${PRODUCT_ADMIN_PREFIX}/push`) {
    if (!only("POST")) return;
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { error: { code: "too_large", message: "body over 256 KiB" } });
    let request: ReturnType<typeof parsePush>;
    try {
      request = parsePush(body);
    } catch (err) {
      if (err instanceof BadRequest) return badRequest(res, err.message);
      throw err;
    }
    const timeout = request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs };
    const results = await products.push(request.table, request.devices, timeout);
    return send(res, 200, { results });
  }
  if (path === `${PRODUCT_ADMIN_PREFIX}/acks`) {
    if (!only("GET")) return;
    return send(res, 200, { devices: products.acks() });
  }
  const one = new RegExp(`^${PRODUCT_ADMIN_PREFIX}/acks/([^/]+)/([^/]+)$`).exec(path);
  if (one !== null) {
    if (!only("GET")) return;
    let identity: { productKey: string; deviceName: string };
    try {
      identity = { productKey: decodeURIComponent(one[1] as string), deviceName: decodeURIComponent(one[2] as string) };
    } catch {
      return badRequest(res, "bad percent-encoding in the path");
    }
    const record = products.ack(identity);
    return record === undefined
      ? send(res, 404, { error: { code: "emulator.unknown_device", message: "never pushed to" } })
      : send(res, 200, record);
  }
  send(res, 404, { error: { code: "not_found", message: "not found" } });
}

/** Starts the admin endpoint on `host:port` (port 0: a free one). */
export async function startProductAdminServer(
  products: ProductTablePush,
  options: { readonly port?: number; readonly host?: string } = {},
): Promise<ProductAdminServer> {
  const server: Server = createServer((req, res) => {
    handle(products, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { code: "internal.unexpected", message: (err as Error).message } });
      else res.destroy();
    });
  });
  await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
  return { url: urlOf("http", server), close: () => closeServer(server) };
}
