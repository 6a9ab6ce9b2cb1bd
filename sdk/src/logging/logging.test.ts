import { TriadkitError } from "@triadkit/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createLogger, SECRET_FIELD_NAMES, secretRedactPaths } from "./create-logger.js";
import type { Logger } from "./logger.js";
import { MemoryLogger, silentLogger } from "./memory-logger.js";
import { MIN_SECRET_LENGTH, REDACTED, redactSecrets } from "./redact.js";

const DEVICE_SECRET = "q7Hf93kLmZpT0aXcVb12";
const MQTT_PASSWORD = "c0ffee8a9b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f";

/** A pino logger (with the SDK's redact paths) writing into a string. */
function capturedPino(level: "debug" | "info" = "debug"): { logger: Logger; output: () => string } {
  let out = "";
  const logger = createLogger({
    level,
    destination: {
      write: (line: string) => {
        out += line;
      },
    },
  });
  return { logger, output: () => out };
}

/** Logs the same mistakes to any logger. */
function logMistakes(log: Logger, secret: string): void {
  log.info(`connecting with password ${secret}`);
  log.info({ creds: secret, note: "visible-note" }, "field");
  log.warn({ a: { b: { c: [1, { d: `x${secret}y` }] } } }, "nested");
  log.error({ err: new Error(`auth failed for ${secret}`) }, "error field");
  log.error(new TypeError(`bad secret ${secret}`) as unknown as Record<string, unknown>);
  log.error(
    { err: new TriadkitError("session.auth_refused", `refused ${secret}`, { user: secret }) },
    "triadkit error",
  );
  log.error({ err: new Error("outer", { cause: new Error(`inner ${secret}`) }) }, "cause");
  log.info({ url: new URL(`mqtts://dev:${secret}@broker.example:8883/`) }, "url");
  log.info({ list: [secret, `${secret}-suffix`], [`key-${secret}`]: 1 }, "keys and arrays");
  log.info({ map: new Map([["k", secret]]), set: new Set([secret]) }, "collections");
  log.child({ session: secret }).info("child binding");
  log.child({ a: 1 }).child({ b: secret }).warn({ more: secret }, `grandchild ${secret}`);
}

describe("redactSecrets", () => {
  it("scrubs a secret from messages, fields, nested values, keys, Errors, URLs and child bindings", () => {
    const memory = new MemoryLogger();
    logMistakes(
      redactSecrets(memory, () => [DEVICE_SECRET]),
      DEVICE_SECRET,
    );
    const text = memory.text();
    expect(memory.entries.length).toBe(12);
    expect(text).not.toContain(DEVICE_SECRET);
    expect(text).toContain(REDACTED);
    expect(memory.messages()).toEqual([
      `connecting with password ${REDACTED}`,
      "field",
      "nested",
      "error field",
      `bad secret ${REDACTED}`,
      "triadkit error",
      "cause",
      "url",
      "keys and arrays",
      "collections",
      "child binding",
      `grandchild ${REDACTED}`,
    ]);
  });

  it("never lets a secret reach a pino destination", () => {
    const { logger, output } = capturedPino();
    logMistakes(
      redactSecrets(logger, () => [MQTT_PASSWORD]),
      MQTT_PASSWORD,
    );
    const text = output();
    const lines = text.trim().split("\n");
    expect(lines.length).toBe(12);
    expect(text).not.toContain(MQTT_PASSWORD);
    expect(text).toContain(REDACTED);
    // Errors keep their class and fields through the scrubbing, as pino's serializer prints them.
    const triad = JSON.parse(lines[5] as string);
    expect(triad.err).toMatchObject({ type: "TriadkitError", code: "session.auth_refused" });
    expect(triad.err.message).toBe(`refused ${REDACTED} (session.auth_refused)`);
    expect(triad.err.stack).toContain(`refused ${REDACTED}`);
    const url = JSON.parse(lines[7] as string);
    expect(url.url).toBe(`mqtts://dev:${REDACTED}@broker.example:8883/`);
  });

  it("keeps non-secret content intact and does not mutate the caller's objects", () => {
    const memory = new MemoryLogger();
    const log = redactSecrets(memory, () => [DEVICE_SECRET]);
    const fields = { productKey: "a1B2c3D4e5F", nested: { secretish: `pre-${DEVICE_SECRET}-post`, n: 42, ok: true } };
    const err = new Error(`boom ${DEVICE_SECRET}`);
    log.info(fields, "status 200 from /sys/a1B2c3D4e5F/dev-1/thing/event/property/post");
    log.error({ err }, "failed");
    expect(memory.entries[0]).toEqual({
      level: "info",
      msg: "status 200 from /sys/a1B2c3D4e5F/dev-1/thing/event/property/post",
      productKey: "a1B2c3D4e5F",
      nested: { secretish: `pre-${REDACTED}-post`, n: 42, ok: true },
    });
    expect(fields.nested.secretish).toBe(`pre-${DEVICE_SECRET}-post`);
    expect(err.message).toBe(`boom ${DEVICE_SECRET}`);
    const logged = memory.entries[1]?.["err"];
    expect(logged).toBeInstanceOf(Error);
    expect((logged as Error).message).toBe(`boom ${REDACTED}`);
  });

  it("reads the secrets for every line, so ones registered later are scrubbed, in existing children too", () => {
    const memory = new MemoryLogger();
    const secrets: string[] = [DEVICE_SECRET];
    const child = redactSecrets(memory, () => secrets).child({ component: "session", bound: MQTT_PASSWORD });
    child.info(`first ${MQTT_PASSWORD}`);
    secrets.push(MQTT_PASSWORD);
    child.info(`second ${MQTT_PASSWORD}`);
    expect(memory.entries[0]?.msg).toBe(`first ${MQTT_PASSWORD}`);
    expect(memory.entries[1]).toEqual({
      level: "info",
      msg: `second ${REDACTED}`,
      component: "session",
      bound: REDACTED,
    });
  });

  it("replaces overlapping secrets whole, and their URL-encoded form", () => {
    const memory = new MemoryLogger();
    const log = redactSecrets(memory, () => ["abcdef", "abcdefghij", "p@ss w0rd/x"]);
    log.info(`x abcdefghij y abcdef z ${encodeURIComponent("p@ss w0rd/x")}`);
    expect(memory.entries[0]?.msg).toBe(`x ${REDACTED} y ${REDACTED} z ${REDACTED}`);
  });

  it(`does not scrub secrets shorter than ${MIN_SECRET_LENGTH} characters (they would mangle every line)`, () => {
    const memory = new MemoryLogger();
    const log = redactSecrets(memory, () => ["1234", "admin", "", "abcdef"]);
    log.info({ pin: "1234", user: "admin" }, "login admin with 1234 then abcdef");
    expect(memory.entries[0]).toEqual({
      level: "info",
      msg: `login admin with 1234 then ${REDACTED}`,
      pin: "1234",
      user: "admin",
    });
  });

  it("survives cycles, binary data, bigints and no secrets at all", () => {
    const memory = new MemoryLogger();
    const cyclic: Record<string, unknown> = { name: `n-${DEVICE_SECRET}` };
    cyclic["self"] = cyclic;
    const bytes = Uint8Array.of(1, 2, 3);
    redactSecrets(memory, () => [DEVICE_SECRET]).info({ cyclic, bytes, big: 10n }, "odd values");
    redactSecrets(memory, () => []).info({ plain: "kept" }, "no secrets");
    const first = memory.entries[0] as Record<string, unknown>;
    const copy = first["cyclic"] as Record<string, unknown>;
    expect(copy["name"]).toBe(`n-${REDACTED}`);
    expect(copy["self"]).toBe(copy);
    expect(first["bytes"]).toBe(bytes);
    expect(memory.text()).not.toContain(DEVICE_SECRET);
    expect(memory.entries[1]).toEqual({ level: "info", msg: "no secrets", plain: "kept" });
  });

  it("property: a secret placed anywhere in random JSON never reaches the sinks", () => {
    const secretArb = fc
      .string({ unit: fc.constantFrom(..."0123456789ABCDEFGHJKMNPQRSTVWXYZ"), minLength: 8, maxLength: 24 })
      .map((s) => `Zq${s}`);
    fc.assert(
      fc.property(secretArb, fc.jsonValue({ maxDepth: 4 }), fc.string(), (secret, json, text) => {
        const inject = (value: unknown): unknown => {
          if (typeof value === "string") return `${value}${secret}${value}`;
          if (Array.isArray(value)) return [...value.map(inject), secret];
          if (typeof value === "object" && value !== null) {
            return Object.fromEntries([
              ...Object.entries(value).map(([k, v]) => [`${k}${secret}`, inject(v)]),
              ["s", secret],
            ]);
          }
          return value;
        };
        const fields = { data: inject(json), err: new Error(`${text}${secret}`) };
        const memory = new MemoryLogger();
        const { logger, output } = capturedPino();
        for (const sink of [memory, logger]) {
          const log = redactSecrets(sink, () => [secret]);
          log.warn(fields, `${text}${secret}${text}`);
          log.child({ bound: inject(json) }).info(secret);
        }
        expect(memory.text()).not.toContain(secret);
        expect(output()).not.toContain(secret);
      }),
      { numRuns: 150 },
    );
  });
});

describe("createLogger", () => {
  it("redacts known secret field names at the top level and one level deep, in fields and bindings", () => {
    const { logger, output } = capturedPino();
    logger.info({ password: "pw", deviceSecret: "ds", mqtt: { password: "pw2", host: "broker" } }, "connect");
    logger.child({ token: "tk", wifi: { passphrase: "wifi-pass" } }).info({ pop: "1234", idNumber: "id" }, "child");
    const [first, second] = output()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(first).toMatchObject({
      password: REDACTED,
      deviceSecret: REDACTED,
      mqtt: { password: REDACTED, host: "broker" },
      msg: "connect",
    });
    expect(second).toMatchObject({
      token: REDACTED,
      wifi: { passphrase: REDACTED },
      pop: REDACTED,
      idNumber: REDACTED,
    });
    expect(output()).not.toMatch(/"pw"|"ds"|"pw2"|"tk"|wifi-pass|"1234"/);
  });

  it("has a path for every listed name, at both depths", () => {
    const paths = secretRedactPaths();
    for (const name of ["deviceSecret", "productSecret", "password", "secret", "pop", "wifiPassword", "passphrase"]) {
      expect(paths).toContain(name);
      expect(paths).toContain(`*.${name}`);
    }
    for (const name of ["sessionKey", "token", "deviceToken", "idNumber"]) {
      expect(SECRET_FIELD_NAMES).toContain(name);
      expect(paths).toContain(`*.${name}`);
    }
    expect(paths.length).toBe(2 * SECRET_FIELD_NAMES.length);
  });

  it("honours the level and scrubs secret values when given `secrets`", () => {
    let out = "";
    const logger = createLogger({
      level: "warn",
      destination: {
        write: (line: string) => {
          out += line;
        },
      },
      secrets: () => [MQTT_PASSWORD],
    });
    logger.info("dropped by level");
    logger.warn({ note: `pw=${MQTT_PASSWORD}` }, "kept");
    expect(out).not.toContain("dropped by level");
    expect(out).toContain(`"note":"pw=${REDACTED}"`);
    expect(out).not.toContain(MQTT_PASSWORD);
  });
});

describe("MemoryLogger and silentLogger", () => {
  it("collects { level, msg, ...bindings, ...fields }, filters by level, and renders JSON lines", () => {
    const memory = new MemoryLogger({ level: "info" });
    memory.debug("hidden");
    memory.info("plain");
    memory.child({ device: "dev-1" }).warn({ code: 7 }, "with fields");
    memory.error(new Error("kaboom") as unknown as Record<string, unknown>);
    expect(memory.entries).toEqual([
      { level: "info", msg: "plain" },
      { level: "warn", msg: "with fields", device: "dev-1", code: 7 },
      expect.objectContaining({ level: "error", msg: "kaboom" }),
    ]);
    const lines = memory.lines().map((line) => JSON.parse(line));
    expect(lines[2].err).toMatchObject({ type: "Error", message: "kaboom" });
    expect(lines[2].err.stack).toContain("kaboom");
    expect(memory.text().split("\n")).toHaveLength(3);
    expect(memory.isLevelEnabled("debug")).toBe(false);
    memory.clear();
    expect(memory.entries).toEqual([]);
  });

  it("silentLogger discards everything and its children are silent too", () => {
    silentLogger.info("nothing");
    silentLogger.error({ a: 1 }, "nothing");
    expect(silentLogger.child({ a: 1 })).toBe(silentLogger);
    expect(Object.isFrozen(silentLogger)).toBe(true);
  });
});
