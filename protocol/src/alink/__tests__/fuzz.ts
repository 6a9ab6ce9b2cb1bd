/**
 * Test-only fuzzing helpers for the Alink decoders: a decoder is *total* when every input either decodes or
 * throws a TriadkitError whose code is in the `alink.` family.
 */
import fc from "fast-check";
import { TriadkitError } from "../../errors.js";
import { utf8 } from "../../util/bytes.js";

/** Runs `fn`; passes if it returns or throws a TriadkitError with an `alink.*` code, rethrows anything else. */
export function decodesOrAlinkError<T>(fn: () => T): T | TriadkitError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TriadkitError && err.code.startsWith("alink.")) return err;
    throw err;
  }
}

type Json = unknown;

/** Every path (list of keys/indices) inside a JSON value, the root included. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) out.push(...paths(value[i], [...prefix, i]));
  } else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  }
  return out;
}

function setAt(
  root: Json,
  path: (string | number)[],
  edit: (parent: Record<string | number, Json>, key: string | number) => void,
): Json {
  const copy = structuredClone(root);
  if (path.length === 0) return copy;
  let parent = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
  edit(parent, path[path.length - 1] as string | number);
  return copy;
}

const MUTATIONS = ["delete", "replace", "stringify", "numberify", "wrap", "null", "duplicate"] as const;

/** Structural mutations of a JSON payload: drop, replace or retype one member anywhere in the tree. */
export function mutateJson(
  bytes: Uint8Array,
  pick: number,
  mutation: (typeof MUTATIONS)[number],
  replacement: Json,
): Uint8Array {
  const root = JSON.parse(new TextDecoder().decode(bytes)) as Json;
  const all = paths(root);
  const path = all[pick % all.length] as (string | number)[];
  if (path.length === 0) return utf8(JSON.stringify(mutation === "wrap" ? [root] : replacement));
  const mutated = setAt(root, path, (parent, key) => {
    const current = parent[key];
    switch (mutation) {
      case "delete":
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key];
        break;
      case "replace":
        parent[key] = replacement;
        break;
      case "stringify":
        parent[key] = typeof current === "string" ? current : JSON.stringify(current);
        break;
      case "numberify":
        parent[key] = typeof current === "string" && current !== "" ? Number(current) : 1.5;
        break;
      case "wrap":
        parent[key] = [current];
        break;
      case "null":
        parent[key] = null;
        break;
      case "duplicate":
        if (Array.isArray(parent)) parent.push(structuredClone(current));
        else parent[`${String(key)}_`] = current;
        break;
    }
  });
  return utf8(JSON.stringify(mutated));
}

/** Byte-level damage: truncate, flip one byte, or insert one byte. */
export function damageBytes(
  bytes: Uint8Array,
  at: number,
  byte: number,
  how: "truncate" | "flip" | "insert",
): Uint8Array {
  const i = bytes.length === 0 ? 0 : at % bytes.length;
  if (how === "truncate") return bytes.slice(0, i);
  if (how === "flip") {
    const out = bytes.slice();
    if (out.length > 0) out[i] = (out[i] as number) ^ (byte || 1);
    return out;
  }
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes.subarray(0, i), 0);
  out[i] = byte;
  out.set(bytes.subarray(i), i + 1);
  return out;
}

/**
 * Asserts `decode` is total on random bytes, random JSON texts, and structural and byte-level mutations of
 * the valid payloads `valid` generates.
 */
export function assertDecoderTotal(
  decode: (bytes: Uint8Array) => unknown,
  valid: fc.Arbitrary<Uint8Array>,
  numRuns = 300,
): void {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      decodesOrAlinkError(() => decode(bytes));
    }),
    { numRuns },
  );
  fc.assert(
    fc.property(fc.json({ maxDepth: 3 }), (text) => {
      decodesOrAlinkError(() => decode(utf8(text)));
    }),
    { numRuns },
  );
  fc.assert(
    fc.property(
      valid,
      fc.nat(),
      fc.constantFrom(...MUTATIONS),
      fc.jsonValue({ maxDepth: 2 }),
      (bytes, pick, mutation, replacement) => {
        decodesOrAlinkError(() => decode(mutateJson(bytes, pick, mutation, replacement)));
      },
    ),
    { numRuns: numRuns * 3 },
  );
  fc.assert(
    fc.property(
      valid,
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom("truncate", "flip", "insert" as const),
      (bytes, at, byte, how) => {
        decodesOrAlinkError(() => decode(damageBytes(bytes, at, byte, how)));
      },
    ),
    { numRuns },
  );
}
