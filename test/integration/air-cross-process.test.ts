/**
 * The cross-process air as a user runs it: `node firmware-sim/bin/triadkit-sim.js air --port 0` prints
 * `READY air://127.0.0.1:<port>`; a peripheral and a central on two separate `connectAir` links meet through it;
 * SIGTERM → exit 0.
 */
import { connectAir } from "@triadkit/firmware-sim";
import type { BleCentralRef } from "@triadkit/sdk";
import { describe, expect, it } from "vitest";
import { readyLines, startSim } from "../helpers/sim-cli.js";

describe("triadkit-sim air", () => {
  it("relays a peripheral and a central in separate links; SIGTERM exits 0", async () => {
    const run = startSim(["air", "--port", "0", "--latency-ms", "2"]);
    try {
      const [ready] = await readyLines(run, 1);
      expect(ready).toMatch(/^READY air:\/\/127\.0\.0\.1:\d+$/);
      const url = (ready as string).slice("READY ".length);
      const board = await connectAir(url);
      const station = await connectAir(url);
      try {
        const received: string[] = [];
        const peripheral = board.peripheral({ address: "c0ffee0000aa" });
        await peripheral.setServices([
          {
            uuid: "6e400001-b5a3-f393-e0a9-e50e24dcca9e",
            characteristics: [
              {
                uuid: "6e400002-b5a3-f393-e0a9-e50e24dcca9e",
                properties: ["write"],
                onWrite: async (data: Uint8Array, central: BleCentralRef) => {
                  received.push(`${new TextDecoder().decode(data)} from ${central.address}`);
                  // echo back as a notification, as a provisioning device answers
                  await peripheral.notify("6e400003-b5a3-f393-e0a9-e50e24dcca9e", data.slice().reverse());
                },
              },
              { uuid: "6e400003-b5a3-f393-e0a9-e50e24dcca9e", properties: ["notify"] },
            ],
          },
        ]);
        await peripheral.startAdvertising({
          localName: "triad-aa",
          serviceUuids: ["6e400001-b5a3-f393-e0a9-e50e24dcca9e"],
        });

        const central = station.central({ address: "0a0b0c0d0e0f" });
        const found: string[] = [];
        const stop = new AbortController();
        await central.scan({ timeoutMs: 5000, signal: stop.signal }, (p) => {
          found.push(`${p.address} ${p.advertisement.localName}`);
          stop.abort();
        });
        expect(found).toEqual(["c0ffee0000aa triad-aa"]);
        const conn = await central.connect("c0ffee0000aa", { mtu: 185 });
        expect(conn.mtu).toBe(185);
        const notes: string[] = [];
        await conn.subscribe("6e400001-b5a3-f393-e0a9-e50e24dcca9e", "6e400003-b5a3-f393-e0a9-e50e24dcca9e", (d) =>
          notes.push(new TextDecoder().decode(d)),
        );
        await conn.write(
          "6e400001-b5a3-f393-e0a9-e50e24dcca9e",
          "6e400002-b5a3-f393-e0a9-e50e24dcca9e",
          new TextEncoder().encode("hello"),
        );
        await conn.write(
          "6e400001-b5a3-f393-e0a9-e50e24dcca9e",
          "6e400002-b5a3-f393-e0a9-e50e24dcca9e",
          new TextEncoder().encode("abc"),
        );
        expect(received).toEqual(["hello from 0a0b0c0d0e0f", "abc from 0a0b0c0d0e0f"]);
        await expect.poll(() => notes).toEqual(["olleh", "cba"]);
        const tooLong = await conn
          .write("6e400001-b5a3-f393-e0a9-e50e24dcca9e", "6e400002-b5a3-f393-e0a9-e50e24dcca9e", new Uint8Array(183))
          .catch((e: { code: string }) => e.code);
        expect(tooLong).toBe("ble.payload_too_large");
        let down = false;
        conn.onDisconnect(() => {
          down = true;
        });
        await conn.disconnect();
        expect(down).toBe(true);
        await expect.poll(run.stderr).toContain("disconnect peripheral=c0ffee0000aa central=0a0b0c0d0e0f");
      } finally {
        await board.close();
        await station.close();
      }
    } finally {
      run.child.kill("SIGTERM");
    }
    expect(await run.exit).toBe(0);
    expect(run.stderr()).toContain("SIGTERM: closing");
  });

  it("refuses bad options with exit code 2", async () => {
    const run = startSim(["air", "--loss-rate", "2"]);
    expect(await run.exit).toBe(2);
  });
});
