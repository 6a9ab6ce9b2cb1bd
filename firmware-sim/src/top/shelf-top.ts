/**
 * The TOP side of `triadkit-sim cloud --top-credentials <file>`: a TOP gateway emulator seeded with the ISV's app
 * (and the merchant's session) from the credentials file, and the shelf bridge calling it through a TopClient
 * with the same credentials. After a session refresh the file is rewritten with the new session and refresh token.
 */
import { type Clock, type Logger, loadTopCredentials, saveTopCredentials, TopClient } from "@triadkit/sdk";
import { ShelfBridge, type ShelfBridgePlatform } from "./bridge.js";
import { TopGateway } from "./top-gateway.js";

export interface ShelfTopOptions {
  readonly platform: ShelfBridgePlatform;
  /** The credentials file (`loadTopCredentials`): app key and secret, session, refresh token. */
  readonly credentialsPath: string;
  readonly host?: string;
  readonly port?: number;
  /** Lifetime of the sessions the gateway issues (and of the seeded one when the file names no expiry). */
  readonly sessionLifetimeMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** One line's worth of an event: names, codes and times only (never a credential). */
export type ShelfTopEvent =
  | { readonly event: "topStatus"; readonly fields: { deviceCode: string; status: string; statusTime: string } }
  | { readonly event: "topRefused"; readonly fields: { method?: string; code: number; subCode?: string } }
  | { readonly event: "topSessionRefreshed"; readonly fields: { appKey: string } }
  | {
      readonly event: "shelfReportFailed";
      readonly fields: { productKey: string; deviceName: string; deviceCode: string; status: string; code: string };
    };

export interface ShelfTop {
  readonly gateway: TopGateway;
  readonly bridge: ShelfBridge;
  onEvent(listener: (event: ShelfTopEvent) => void): void;
  close(): Promise<void>;
}

export async function startShelfTop(options: ShelfTopOptions): Promise<ShelfTop> {
  const path = options.credentialsPath;
  const credentials = loadTopCredentials(path);
  const { appKey, appSecret, session, refreshToken, sessionExpiresAtMs } = credentials;
  const gateway = await TopGateway.start({
    apps: [{ appKey, appSecret }],
    sessions:
      session === undefined
        ? []
        : [
            {
              appKey,
              session,
              ...(refreshToken === undefined ? {} : { refreshToken }),
              ...(sessionExpiresAtMs === undefined ? {} : { expiresAtMs: sessionExpiresAtMs }),
            },
          ],
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.sessionLifetimeMs === undefined ? {} : { sessionLifetimeMs: options.sessionLifetimeMs }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const client = new TopClient({
    endpoint: gateway.url,
    appKey,
    appSecret,
    ...(session === undefined ? {} : { session }),
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    onSessionRefreshed: (tokens) =>
      saveTopCredentials(path, {
        appKey,
        appSecret,
        session: tokens.session,
        ...(tokens.refreshToken === undefined ? {} : { refreshToken: tokens.refreshToken }),
        ...(tokens.expiresAtMs === undefined ? {} : { sessionExpiresAtMs: tokens.expiresAtMs }),
      }),
  });
  const bridge = new ShelfBridge({
    platform: options.platform,
    client,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  return {
    gateway,
    bridge,
    onEvent(listener) {
      gateway.on("statusFeedback", (r) =>
        listener({
          event: "topStatus",
          fields: { deviceCode: r.deviceCode, status: r.status, statusTime: r.statusTime },
        }),
      );
      gateway.on("refused", (r) =>
        listener({
          event: "topRefused",
          fields: {
            ...(r.method === undefined ? {} : { method: r.method }),
            code: r.code,
            ...(r.subCode === undefined ? {} : { subCode: r.subCode }),
          },
        }),
      );
      gateway.on("sessionRefreshed", (r) => listener({ event: "topSessionRefreshed", fields: { appKey: r.appKey } }));
      bridge.on("failed", (f) =>
        listener({
          event: "shelfReportFailed",
          fields: { ...f.identity, deviceCode: f.deviceCode, status: f.status, code: f.code },
        }),
      );
    },
    async close() {
      await bridge.close();
      await gateway.close();
    },
  };
}

/** An event as one stderr line of `triadkit-sim cloud`: `<ISO time> <event> k=v …`, or a JSON line. */
export function formatShelfTopEvent(e: ShelfTopEvent, json: boolean, nowIso = new Date().toISOString()): string {
  if (json) return JSON.stringify({ time: nowIso, event: e.event, ...e.fields });
  const text = Object.entries(e.fields)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(" ");
  return `${nowIso} ${e.event} ${text}`;
}
