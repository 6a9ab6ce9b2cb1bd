/**
 * What the TOP gateway emulator remembers: the apps (app key → secret), the sessions and refresh tokens it issued
 * or was seeded with, and the last status reported for each smart-store device code. In memory only.
 */
import { type ShelfDeviceStatus, toHex } from "@triadkit/protocol";
import type { Clock, Random } from "@triadkit/sdk";

export interface TopGatewayApp {
  readonly appKey: string;
  readonly appSecret: string;
}

/** A session the gateway accepts (seeded from a credentials file, or issued by a refresh). */
export interface TopGatewaySession {
  readonly appKey: string;
  readonly session: string;
  readonly refreshToken?: string;
  /** Default: now + the gateway's session lifetime. */
  readonly expiresAtMs?: number;
}

export interface IssuedSession {
  readonly session: string;
  readonly refreshToken: string;
  readonly expiresAtMs: number;
  readonly refreshTokenExpiresAtMs: number;
}

/** The last status of a device code, as reported by `taobao.smartstore.device.status.feedback`. */
export interface DeviceStatusRecord {
  readonly deviceCode: string;
  readonly status: ShelfDeviceStatus;
  /** As sent (`yyyy-MM-dd HH:mm:ss`, GMT+8) and as a time. */
  readonly statusTime: string;
  readonly statusTimeMs: number;
  readonly appKey: string;
  /** Gateway clock when it arrived. */
  readonly receivedAtMs: number;
}

interface SessionEntry {
  readonly appKey: string;
  expiresAtMs: number;
}

interface RefreshEntry {
  readonly appKey: string;
  readonly session: string;
  readonly expiresAtMs: number;
}

export type SessionCheck = "ok" | "unknown" | "expired";

export class GatewayState {
  private readonly apps = new Map<string, string>();
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly refreshTokens = new Map<string, RefreshEntry>();
  private readonly statuses = new Map<string, DeviceStatusRecord>();
  private readonly history: DeviceStatusRecord[] = [];

  constructor(
    private readonly deps: {
      readonly clock: Clock;
      readonly random: Random;
      readonly sessionLifetimeMs: number;
      readonly refreshTokenLifetimeMs: number;
    },
  ) {}

  addApp(app: TopGatewayApp): void {
    this.apps.set(app.appKey, app.appSecret);
  }

  secretOf(appKey: string): string | undefined {
    return this.apps.get(appKey);
  }

  seedSession(seed: TopGatewaySession): void {
    const now = this.deps.clock.nowMs();
    const expiresAtMs = seed.expiresAtMs ?? now + this.deps.sessionLifetimeMs;
    this.sessions.set(seed.session, { appKey: seed.appKey, expiresAtMs });
    if (seed.refreshToken !== undefined) {
      this.refreshTokens.set(seed.refreshToken, {
        appKey: seed.appKey,
        session: seed.session,
        expiresAtMs: Math.max(expiresAtMs, now + this.deps.refreshTokenLifetimeMs),
      });
    }
  }

  /** A fresh session and refresh token for an app (random hex; the real formats are not published). */
  issueSession(appKey: string, lifetimeMs = this.deps.sessionLifetimeMs): IssuedSession {
    const now = this.deps.clock.nowMs();
    const issued: IssuedSession = {
      session: `61${toHex(this.deps.random.bytes(24))}`,
      refreshToken: `62${toHex(this.deps.random.bytes(24))}`,
      expiresAtMs: now + lifetimeMs,
      refreshTokenExpiresAtMs: now + Math.max(lifetimeMs, this.deps.refreshTokenLifetimeMs),
    };
    this.sessions.set(issued.session, { appKey, expiresAtMs: issued.expiresAtMs });
    this.refreshTokens.set(issued.refreshToken, {
      appKey,
      session: issued.session,
      expiresAtMs: issued.refreshTokenExpiresAtMs,
    });
    return issued;
  }

  /** Makes a session expire now (tests and demos). */
  expireSession(session: string): void {
    const entry = this.sessions.get(session);
    if (entry !== undefined) entry.expiresAtMs = this.deps.clock.nowMs();
  }

  checkSession(appKey: string, session: string): SessionCheck {
    const entry = this.sessions.get(session);
    if (entry === undefined || entry.appKey !== appKey) return "unknown";
    return entry.expiresAtMs > this.deps.clock.nowMs() ? "ok" : "expired";
  }

  /**
   * Exchanges a refresh token: the old session and refresh token stop working, a new pair is issued. Undefined when
   * the token is unknown, of another app, or expired.
   */
  refresh(appKey: string, refreshToken: string): IssuedSession | undefined {
    const entry = this.refreshTokens.get(refreshToken);
    if (entry === undefined || entry.appKey !== appKey || entry.expiresAtMs <= this.deps.clock.nowMs()) {
      return undefined;
    }
    this.refreshTokens.delete(refreshToken);
    this.sessions.delete(entry.session);
    return this.issueSession(appKey);
  }

  recordStatus(record: DeviceStatusRecord): void {
    this.statuses.set(record.deviceCode, record);
    this.history.push(record);
  }

  statusOf(deviceCode: string): DeviceStatusRecord | undefined {
    return this.statuses.get(deviceCode);
  }

  statusHistory(): readonly DeviceStatusRecord[] {
    return [...this.history];
  }
}
