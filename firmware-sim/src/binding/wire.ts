/** How the binding monitor plugs into the platform emulator: its events in, alerts out. */
import type { EventEmitter } from "node:events";
import type { EmulatorLogger, PlatformEmulatorEvents } from "../emulator/options.js";
import type { BindingHost, BindingMonitor } from "./monitor.js";

/**
 * Feeds the emulator's `identityReport` and `bindingEvent` to the monitor (a failure is logged, never thrown into the
 * broker: the device still gets its reply) and turns the monitor's alerts into `bindingAlert` / `bindingRecovered`
 * events and platform publishes.
 */
export function wireBindingMonitor(
  monitor: BindingMonitor,
  emulator: EventEmitter<PlatformEmulatorEvents>,
  logger: EmulatorLogger,
  io: Pick<BindingHost, "publish" | "invokeService">,
): void {
  monitor.attach({
    ...io,
    onAlert: (alert) => emulator.emit("bindingAlert", alert),
    onRecovered: (recovery) => emulator.emit("bindingRecovered", recovery),
  });
  const guard = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      logger.error({ event: "bindingMonitor", error: String(err) }, "the binding monitor failed on a message");
    }
  };
  emulator.on("identityReport", ({ identity, value }) => guard(() => monitor.handleIdentityReport(identity, value)));
  emulator.on("bindingEvent", ({ identity, value }) => guard(() => monitor.handleBindingEvent(identity, value)));
}
