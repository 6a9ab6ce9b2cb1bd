/**
 * An in-process stand-in for SIGKILL: after the chosen operation (a ledger call or a write to a device) nothing
 * the station does has any effect any more. Ledger calls throw `Killed` (before or after the chosen one ran: a
 * kill right before or right after a commit), writes to devices are dropped and device answers are ignored. The
 * database keeps exactly what was committed, the devices keep what they received: as after a real kill.
 */
import type { SerialLink } from "@triadkit/sdk";
import type { Ledger } from "../../ledger/types.js";

export class Killed extends Error {
  override readonly name = "Killed";
}

export class KillSwitch {
  private count = 0;
  killed = false;

  /** Kill at the `at`-th operation (1-based); `after`: let that operation run first. */
  constructor(
    private readonly at: number,
    private readonly after: boolean,
    private readonly filter: (method: string, args: unknown[]) => boolean = () => true,
  ) {}

  get operations(): number {
    return this.count;
  }

  private tick(): "run" | "kill-before" | "kill-after" {
    if (this.killed) return "kill-before";
    this.count++;
    if (this.count < this.at) return "run";
    this.killed = true;
    return this.after ? "kill-after" : "kill-before";
  }

  ledger(inner: Ledger): Ledger {
    return new Proxy(inner, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function" || prop === "close") return value;
        return async (...args: unknown[]) => {
          const mutating = !/^(get|find|list|count|device|factory|audit|stations|pool)/.test(String(prop));
          if (!mutating || !this.filter(String(prop), args)) {
            if (this.killed) throw new Killed(String(prop));
            return value.apply(target, args);
          }
          const step = this.tick();
          if (step === "kill-before") throw new Killed(String(prop));
          const result = await value.apply(target, args);
          if (step === "kill-after") throw new Killed(String(prop));
          return result;
        };
      },
    });
  }

  link(inner: SerialLink): SerialLink {
    return {
      get isOpen() {
        return inner.isOpen;
      },
      write: async (data) => {
        if (!this.filter("link.write", [data])) {
          if (!this.killed) await inner.write(data);
          return;
        }
        const step = this.tick();
        if (step === "kill-before") return;
        await inner.write(data);
      },
      onData: (listener) => inner.onData((chunk) => (this.killed ? undefined : listener(chunk))),
      onClose: (listener) => inner.onClose(listener),
      close: () => inner.close(),
    };
  }
}
