import type { AlinkReply, TriadkitError } from "@triadkit/protocol";

/** One lifecycle field, not four booleans. */
export type DeviceState = "idle" | "connecting" | "online" | "backoff" | "closed";

/** What the platform told the device about itself (`thing/disable`, `enable`, `delete`). */
export type PlatformStatus = "enabled" | "disabled" | "deleted";

export interface DeviceEvents {
  state: [state: DeviceState, previous: DeviceState];
  online: [];
  offline: [info: { upMs: number }];
  /** A connection attempt failed; `error.code` is `session.auth_refused` for CONNACK 4/5. */
  connectError: [error: TriadkitError];
  /** The next attempt is scheduled. */
  backoff: [info: { delayMs: number; failures: number; kind: "network" | "auth" }];
  /** A reply arrived (also late ones nobody waits for any more). */
  reply: [reply: AlinkReply, info: { topic: string; late: boolean }];
  /** Messages dropped at the offline queue's bound. `total` counts since the store was created. */
  dropped: [info: { count: number; total: number }];
  timeSynced: [info: { offsetMs: number }];
  platformStatus: [status: PlatformStatus];
  /** `/ext/error` from the platform, as `alink.platform_error`. */
  platformError: [error: TriadkitError];
  /** `thing/config/push` content. */
  configPush: [params: unknown];
  /** The platform asked to set properties (also delivered to `onPropertySet` handlers). */
  propertySet: [params: Record<string, unknown>];
  /** A downstream message that could not be decoded or handled (never crashes the device). */
  badMessage: [info: { topic: string; error: TriadkitError }];
  closed: [];
}
