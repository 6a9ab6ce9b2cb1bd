import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitErrorAsync, utf8 } from "@triadkit/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SimulatedDeviceState } from "./device-state.js";

describe("SimulatedDeviceState", () => {
  let root: string;
  let dir: string;
  let state: SimulatedDeviceState | undefined;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "triadkit-state-"));
    dir = join(root, "dev1");
  });
  afterEach(async () => {
    await state?.close();
    state = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it("creates <dir>/flash.img and <dir>/device.json, and the triad survives a restart inside the flash only", async () => {
    state = await SimulatedDeviceState.open(dir, { labels: { model: "lamp-v2" } });
    expect((await readdir(dir)).sort()).toEqual(["device.json", "flash.img"]);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, "flash.img"))).size).toBe(512 * 1024);
    expect(JSON.parse(await readFile(join(dir, "device.json"), "utf8"))).toEqual({
      format: 1,
      flash: { image: "flash.img", pageSize: 256, pagesPerBlock: 16, blockCount: 128 },
      store: { firstBlock: 0, blockCount: 128, blocksPerSlot: 1 },
      labels: { model: "lamp-v2" },
    });
    const secret = "a1B2c3D4e5F&dev1&0123456789abcdef0123456789abcdef";
    await state.store.write("triad", utf8(secret));
    await state.close();
    state = await SimulatedDeviceState.open(dir);
    expect(await state.store.read("triad")).toEqual(utf8(secret));
    expect(state.metadata.labels).toEqual({ model: "lamp-v2" });
    expect(await readFile(join(dir, "device.json"), "utf8")).not.toContain("0123456789abcdef");
    expect((await readFile(join(dir, "flash.img"))).includes(Buffer.from(secret))).toBe(true);
  });

  it("keeps the geometry it was created with and refuses a contradicting one", async () => {
    const geometry = { pageSize: 64, pagesPerBlock: 4, blockCount: 32 };
    state = await SimulatedDeviceState.open(dir, { geometry, store: { firstBlock: 8, blocksPerSlot: 2 } });
    expect(state.store.layout).toMatchObject({ firstBlock: 8, blockCount: 24, blocksPerSlot: 2, entries: 6 });
    await state.close();
    state = undefined;
    await expectTriadkitErrorAsync(
      () => SimulatedDeviceState.open(dir, { geometry: { pageSize: 256 } }),
      "config.invalid",
    );
    await expectTriadkitErrorAsync(
      () => SimulatedDeviceState.open(dir, { store: { blocksPerSlot: 1 } }),
      "config.invalid",
    );
    state = await SimulatedDeviceState.open(dir, { geometry: { pageSize: 64 } });
    expect(state.flash.geometry).toEqual(geometry);
  });

  it("reboots after a power cut with the data intact", async () => {
    state = await SimulatedDeviceState.open(dir, { geometry: { pagesPerBlock: 4, blockCount: 16 } });
    await state.store.write("k", utf8("old"));
    state.flash.powerCutAtPage(0);
    await expectTriadkitErrorAsync(() => state!.store.write("k", utf8("new")), "store.io");
    const store = await state.reboot();
    expect(state.store).toBe(store);
    expect(await store.read("k")).toEqual(utf8("old"));
  });

  it("labels: stored atomically, never secrets", async () => {
    state = await SimulatedDeviceState.open(dir);
    await state.setLabels({ model: "m", batch: "2024-07" });
    expect(JSON.parse(await readFile(join(dir, "device.json"), "utf8")).labels).toEqual({
      model: "m",
      batch: "2024-07",
    });
    const bad: Record<string, string>[] = [
      { deviceSecret: "x" },
      { wifiPsk: "x" },
      { "bad key": "x" },
      { n: 1 as unknown as string },
    ];
    for (const labels of bad) {
      await expectTriadkitErrorAsync(() => state!.setLabels(labels), "config.invalid");
    }
    await expectTriadkitErrorAsync(
      () => SimulatedDeviceState.open(join(root, "dev2"), { labels: { password: "x" } }),
      "config.invalid",
    );
  });

  it("a deleted flash.img is a factory-fresh flash; a damaged device.json is reported", async () => {
    state = await SimulatedDeviceState.open(dir, { geometry: { blockCount: 8 } });
    await state.store.write("k", utf8("v"));
    await state.close();
    await rm(join(dir, "flash.img"));
    state = await SimulatedDeviceState.open(dir);
    expect(await state.store.keys()).toEqual([]);
    await state.close();
    state = undefined;
    const file = join(dir, "device.json");
    for (const text of ["{", "[]", '{"format":1}', '{"format":1,"flash":{"image":"x.img"}}']) {
      await writeFile(file, text);
      await expectTriadkitErrorAsync(() => SimulatedDeviceState.open(dir), "store.corrupt_record");
    }
    await writeFile(file, '{"format":2}');
    await expectTriadkitErrorAsync(() => SimulatedDeviceState.open(dir), "store.unsupported_version");
    await writeFile(join(root, "file"), "x");
    await expectTriadkitErrorAsync(() => SimulatedDeviceState.open(join(root, "file")), "store.io");
  });
});
