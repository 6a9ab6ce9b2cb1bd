import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectTriadkitError } from "@triadkit/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { asDeviceRegistry, type DeviceRegistry, MemoryDeviceDirectory } from "./device-directory.js";
import { SqliteDeviceRegistry } from "./sqlite-registry.js";

const t1 = { productKey: "a1B2c3D4e5F", deviceName: "dev001", deviceSecret: "abcdefghijklmnopqrstuvwxyz012345" };
const t2 = { productKey: "a1B2c3D4e5F", deviceName: "dev002", deviceSecret: "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345" };
const other = { productKey: "a1Other0000", deviceName: "dev001", deviceSecret: "0123456789abcdefghijklmnopqrstuv" };

let clock = 1_000;
const nowMs = () => clock;
const open: DeviceRegistry[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

const implementations: [string, () => DeviceRegistry][] = [
  ["MemoryDeviceDirectory", () => new MemoryDeviceDirectory([], { nowMs })],
  ["SqliteDeviceRegistry", () => new SqliteDeviceRegistry(":memory:", { nowMs })],
];

describe.each(implementations)("%s (DeviceRegistry contract)", (_name, create) => {
  const make = () => {
    const r = create();
    open.push(r);
    return r;
  };

  it("adds, looks up secrets and lists devices without secrets", () => {
    const r = make();
    clock = 1_000;
    expect(r.add(t1)).toEqual({
      productKey: t1.productKey,
      deviceName: t1.deviceName,
      status: "active",
      createdAtMs: 1_000,
      updatedAtMs: 1_000,
      activatedAtMs: undefined,
    });
    r.add(t2);
    r.add(other);
    expect(r.lookupSecret(t1)).toBe(t1.deviceSecret);
    expect(r.lookupSecret({ productKey: t1.productKey, deviceName: "nobody" })).toBeUndefined();
    expect(r.list().map((d) => `${d.productKey}/${d.deviceName}`)).toEqual([
      "a1B2c3D4e5F/dev001",
      "a1B2c3D4e5F/dev002",
      "a1Other0000/dev001",
    ]);
    expect(r.list({ productKey: "a1Other0000" })).toHaveLength(1);
    expect(JSON.stringify(r.list())).not.toContain(t1.deviceSecret);
  });

  it("refuses duplicates and invalid triads", () => {
    const r = make();
    r.add(t1);
    expectTriadkitError(() => r.add(t1), "emulator.duplicate_device");
    expectTriadkitError(() => r.add({ ...t1, deviceName: "x" }), "triad.bad_device_name");
    expectTriadkitError(
      () => r.add({ ...t1, deviceName: "dev009", deviceSecret: "has space" }),
      "triad.bad_device_secret",
    );
    r.add({ ...t1, deviceSecret: "replacedSecret0123456789abcdefgh" }, { replace: true });
    expect(r.lookupSecret(t1)).toBe("replacedSecret0123456789abcdefgh");
  });

  it("changes status; deleted devices have no secret and can be added again", () => {
    const r = make();
    r.add(t1);
    clock = 2_000;
    expect(r.setStatus(t1, "disabled")).toMatchObject({ status: "disabled", updatedAtMs: 2_000 });
    expect(r.lookupSecret(t1)).toBe(t1.deviceSecret);
    expect(r.list({ status: "disabled" })).toHaveLength(1);
    r.setStatus(t1, "deleted");
    expect(r.lookupSecret(t1)).toBeUndefined();
    expect(r.get(t1)?.status).toBe("deleted");
    expect(r.add(t1).status).toBe("active");
    expectTriadkitError(
      () => r.setStatus({ productKey: "a1B2c3D4e5F", deviceName: "ghost" }, "active"),
      "emulator.unknown_device",
    );
  });

  it("records the first activation only", () => {
    const r = make();
    r.add(t1);
    clock = 5_000;
    r.markActivated(t1);
    clock = 6_000;
    r.markActivated(t1);
    expect(r.get(t1)?.activatedAtMs).toBe(5_000);
  });

  it("keeps products and device tokens", () => {
    const r = make();
    expect(r.addProduct({ productKey: "a1B2c3D4e5F", productSecret: "productSecretXYZ" })).toMatchObject({
      productKey: "a1B2c3D4e5F",
      dynamicRegister: true,
      regnwl: false,
    });
    r.addProduct({ productKey: "a1B2c3D4e5F", productSecret: "otherSecret", dynamicRegister: false, regnwl: true });
    expect(r.getProduct("a1B2c3D4e5F")).toMatchObject({ dynamicRegister: false, regnwl: true });
    expect(r.lookupProductSecret("a1B2c3D4e5F")).toBe("otherSecret");
    expect(r.getProduct("a1Unknown00")).toBeUndefined();
    expect(JSON.stringify(r.getProduct("a1B2c3D4e5F"))).not.toContain("otherSecret");
    r.add(t1);
    r.setDeviceToken(t1, "tok123");
    expect(r.lookupDeviceToken(t1)).toBe("tok123");
    expect(r.lookupDeviceToken(t2)).toBeUndefined();
    expectTriadkitError(() => r.setDeviceToken(t2, "x"), "emulator.unknown_device");
  });
});

describe("SqliteDeviceRegistry on a file", () => {
  it("keeps devices and products across reopening", () => {
    const dir = mkdtempSync(join(tmpdir(), "triadkit-db-"));
    try {
      const path = join(dir, "registry.db");
      const first = new SqliteDeviceRegistry(path);
      first.add(t1);
      first.setStatus(t1, "disabled");
      first.addProduct({ productKey: t1.productKey, productSecret: "productSecretXYZ", regnwl: true });
      first.close();
      const second = new SqliteDeviceRegistry(path);
      expect(second.get(t1)?.status).toBe("disabled");
      expect(second.lookupSecret(t1)).toBe(t1.deviceSecret);
      expect(second.getProduct(t1.productKey)?.regnwl).toBe(true);
      second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("asDeviceRegistry", () => {
  it("returns a registry as is and wraps a bare directory", () => {
    const memory = new MemoryDeviceDirectory([t1]);
    expect(asDeviceRegistry(memory)).toBe(memory);
    const bare = {
      lookupSecret: (id: { deviceName: string }) => (id.deviceName === "dev001" ? t1.deviceSecret : undefined),
    };
    const wrapped = asDeviceRegistry(bare);
    expect(wrapped.lookupSecret(t1)).toBe(t1.deviceSecret);
    expect(wrapped.get(t1)?.status).toBe("active");
    wrapped.setStatus(t1, "disabled");
    expect(wrapped.get(t1)?.status).toBe("disabled");
    expect(wrapped.get(t2)).toBeUndefined();
  });
});
