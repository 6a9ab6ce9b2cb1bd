/** A fleet worker process (see ./shard.ts): runs its share of the devices, driven over the IPC channel. */
import { Fleet } from "./fleet.js";
import type { ShardCommand, ShardMessage } from "./shard.js";

const send = (m: ShardMessage) =>
  new Promise<void>((resolve) => (process.send ? process.send(m, undefined, {}, () => resolve()) : resolve()));

async function runShard(command: Extract<ShardCommand, { type: "run" }>): Promise<void> {
  const fleet = await Fleet.create(command.options);
  try {
    await fleet.start();
    await fleet.waitAllOnline(command.onlineTimeoutMs);
    await send({ type: "online", online: fleet.onlineCount(), devices: fleet.devices.length });
    await new Promise<void>((resolve) =>
      process.on("message", (m: ShardCommand) => {
        if (m.type === "finish") resolve();
      }),
    );
    await fleet.heartbeatAll();
    await fleet.drain(30_000);
    const latencies = fleet.devices.flatMap((d) =>
      d.counters.connectLatencyMs === undefined ? [] : [d.counters.connectLatencyMs],
    );
    await send({ type: "report", report: fleet.report(), latencies });
  } finally {
    await fleet.close();
  }
}

process.once("message", (m: ShardCommand) => {
  if (m.type !== "run") return;
  runShard(m).then(
    () => process.exit(0),
    (err: unknown) =>
      send({ type: "failed", message: err instanceof Error ? err.message : String(err) }).then(() => process.exit(1)),
  );
});
