/**
 * Where alerts go besides the database: an MQTT topic operators subscribe to, and an optional webhook.
 *
 * - Topic `/triadkit/binding/alerts/{productKey}/{deviceName}`, JSON, QoS 0, not retained, published by the
 *   platform itself (operators subscribe with `/triadkit/binding/alerts/#`).
 * - Webhook: `POST` of the same JSON (`content-type: application/json`), a timeout per attempt, bounded retries
 *   (network errors, timeouts, 5xx and 429 are retried; other 4xx are not). Failures are logged
 *   (`binding.webhook_failed`), never thrown.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { DeviceIdentity } from "@triadkit/protocol";
import { TriadkitError, utf8 } from "@triadkit/protocol";
import type { Clock } from "@triadkit/sdk";
import type { EmulatorLogger } from "../emulator/options.js";
import type { BindingAlert, BindingRecovery } from "./types.js";

export const ALERT_TOPIC_PREFIX = "/triadkit/binding/alerts";
/** The filter an operator subscribes to for every device. */
export const ALERT_TOPIC_FILTER = `${ALERT_TOPIC_PREFIX}/#`;

/** `/triadkit/binding/alerts/{productKey}/{deviceName}` */
export function alertTopic(identity: DeviceIdentity): string {
  return `${ALERT_TOPIC_PREFIX}/${identity.productKey}/${identity.deviceName}`;
}

/** The JSON body of the topic and the webhook: `type` tells an alert from a recovery. */
export type AlertMessage =
  | ({ readonly type: "alert" } & BindingAlert & { readonly firstSeen: string; readonly lastSeen: string })
  | ({ readonly type: "recovered" } & BindingRecovery & { readonly recovered: string });

export function alertMessage(alert: BindingAlert): AlertMessage {
  return {
    type: "alert",
    ...alert,
    firstSeen: new Date(alert.firstSeenMs).toISOString(),
    lastSeen: new Date(alert.lastSeenMs).toISOString(),
  };
}

export function recoveryMessage(recovery: BindingRecovery): AlertMessage {
  return { type: "recovered", ...recovery, recovered: new Date(recovery.recoveredMs).toISOString() };
}

export interface WebhookOptions {
  readonly url: string;
  /** Per attempt. Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Attempts in all, the first included. Default 3. */
  readonly attempts?: number;
  /** Wait before the 2nd attempt, doubled for each later one, on the injected clock. Default 1000 ms. */
  readonly retryDelayMs?: number;
}

type AttemptResult = { ok: true } | { ok: false; retry: boolean; why: string };

/** POSTs alert messages to a URL; each delivery runs on its own and is tracked until it settles. */
export class WebhookSender {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly requests = new Set<{ destroy(): void }>();
  private readonly sleeps = new Set<() => void>();
  private closed = false;
  private readonly url: URL;

  constructor(
    private readonly options: WebhookOptions,
    private readonly clock: Clock,
    private readonly logger: EmulatorLogger,
  ) {
    this.url = new URL(options.url);
  }

  /** Starts delivering; never throws, never rejects. */
  send(message: AlertMessage): void {
    if (this.closed) return;
    const body = JSON.stringify(message);
    const run = this.deliver(body, message).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  /** Resolves when every delivery started so far has succeeded or given up. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Stops retries and aborts requests in flight. */
  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.requests) r.destroy();
    for (const wake of this.sleeps) wake();
    await this.settled();
  }

  private async deliver(body: string, message: AlertMessage): Promise<void> {
    const attempts = this.options.attempts ?? 3;
    let delayMs = this.options.retryDelayMs ?? 1000;
    let last = "";
    for (let attempt = 1; attempt <= attempts && !this.closed; attempt++) {
      const result = await this.attempt(body);
      if (result.ok) return;
      last = result.why;
      if (!result.retry || attempt === attempts) break;
      await this.sleep(delayMs);
      delayMs *= 2;
    }
    const err = new TriadkitError("binding.webhook_failed", `alert webhook failed: ${last || "closed"}`, {
      host: this.url.host,
    });
    this.logger.warn(
      {
        event: "bindingWebhookFailed",
        code: err.code,
        productKey: message.productKey,
        deviceName: message.deviceName,
        type: message.type,
        why: last || "closed",
      },
      err.message,
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.sleeps.delete(wake);
        timer.cancel();
        resolve();
      };
      const timer = this.clock.setTimeout(wake, ms);
      this.sleeps.add(wake);
    });
  }

  private attempt(body: string): Promise<AttemptResult> {
    const send = this.url.protocol === "https:" ? httpsRequest : httpRequest;
    const bytes = utf8(body);
    return new Promise((resolve) => {
      const req = send(
        this.url,
        {
          method: "POST",
          headers: { "content-type": "application/json", "content-length": String(bytes.length) },
          timeout: this.options.timeoutMs ?? 5000,
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve({ ok: true });
            else resolve({ ok: false, retry: status >= 500 || status === 429, why: `HTTP ${status}` });
          });
          res.on("error", (e) => resolve({ ok: false, retry: true, why: e.message }));
        },
      );
      this.requests.add(req);
      req.on("close", () => this.requests.delete(req));
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", (e) => resolve({ ok: false, retry: true, why: e.message }));
      req.end(bytes);
    });
  }
}
