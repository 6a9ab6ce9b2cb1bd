/** The emulator's sockets: MQTT over TCP and TLS, and the HTTP(S) registration endpoint. */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { type ErrorCode, isTriadkitError } from "@triadkit/protocol";
import type { Registrar, RegistrationGrant } from "./registration.js";

/** PEM text (or bytes) of the server certificate chain and its private key. */
export interface TlsMaterial {
  readonly certPem: string | Uint8Array;
  /** Secret. */
  readonly keyPem: string | Uint8Array;
}

export type ConnectionHandler = (socket: Socket) => void;

export function createMqttServer(handle: ConnectionHandler, tls?: TlsMaterial): Server {
  if (tls === undefined) return createTcpServer(handle);
  const server = createTlsServer({ cert: Buffer.from(tls.certPem), key: Buffer.from(tls.keyPem) }, handle);
  // A client that refuses our certificate (or speaks plain MQTT to the TLS port) is not the server's problem.
  server.on("tlsClientError", () => {});
  return server;
}

export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

export function urlOf(scheme: string, server: Server): string {
  const { address, port } = server.address() as AddressInfo;
  return `${scheme}://${address.includes(":") ? `[${address}]` : address}:${port}`;
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** Stops listening and drops open connections (HTTP keep-alive ones included). */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    (server as Partial<{ closeAllConnections(): void }>).closeAllConnections?.();
  });
}

/** Alibaba's HTTPS registration path. */
export const REGISTER_PATH = "/auth/register/device";
const MAX_BODY_BYTES = 8 * 1024;

/** Reply codes of the registration endpoint (in the JSON body; the HTTP status is 200 as the platform's). */
export const HTTP_REGISTER_CODES = {
  ok: 200,
  badSignature: 401,
  refused: 403,
  badParams: 460,
  internalError: 500,
} as const;

export interface HttpRegisterHooks {
  readonly onRegistered: (grant: RegistrationGrant) => void;
  /** `replyCode` is the JSON `code` sent; `username` is `deviceName&productKey` as given (no secret). */
  readonly onRefused: (refusal: { code: ErrorCode; replyCode: number; username: string | undefined }) => void;
}

/** Writes `body` as a JSON response with its length. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json;charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** `POST /auth/register/device` with a form body → `{"code":200,"data":{productKey,deviceName,deviceSecret},"message":"success"}`. */
export function createRegistrationServer(registrar: Registrar, hooks: HttpRegisterHooks, tls?: TlsMaterial): Server {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== REGISTER_PATH) return sendJson(res, 404, { code: 404, message: "not found" });
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return sendJson(res, 405, { code: 405, message: "method not allowed" });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        sendJson(res, 413, { code: HTTP_REGISTER_CODES.badParams, message: "request body too large" });
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on("end", () => {
      if (res.headersSent) return;
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      try {
        const grant = registrar.http(form);
        hooks.onRegistered(grant);
        sendJson(res, 200, { code: HTTP_REGISTER_CODES.ok, data: grant.result, message: "success" });
      } catch (err) {
        const code: ErrorCode = isTriadkitError(err) ? err.code : "internal.unexpected";
        const status =
          code === "triad.bad_signature" || code === "triad.bad_password_format"
            ? HTTP_REGISTER_CODES.badSignature
            : code === "emulator.registration_refused" || code === "emulator.device_disabled"
              ? HTTP_REGISTER_CODES.refused
              : code === "internal.unexpected"
                ? HTTP_REGISTER_CODES.internalError
                : HTTP_REGISTER_CODES.badParams;
        const pk = form.get("productKey");
        const dn = form.get("deviceName");
        hooks.onRefused({ code, replyCode: status, username: pk && dn ? `${dn}&${pk}`.slice(0, 130) : undefined });
        // The message is the error's own (identities and codes, never a secret or the sign).
        sendJson(res, 200, { code: status, message: isTriadkitError(err) ? err.message : "internal error" });
      }
    });
  };
  if (tls === undefined) return createHttpServer(handler);
  return createHttpsServer({ cert: Buffer.from(tls.certPem), key: Buffer.from(tls.keyPem) }, handler);
}
