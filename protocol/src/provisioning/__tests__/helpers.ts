/** Test-only helpers for the provisioning codecs and sessions. */
import fc from "fast-check";
import { TriadkitError } from "../../errors.js";

/** Runs `fn`; passes if it returns or throws a TriadkitError with a code in one of `families`; rethrows otherwise. */
export function decodesOrCodedError<T>(fn: () => T, families: readonly string[] = ["prov."]): T | TriadkitError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TriadkitError && families.some((f) => err.code.startsWith(f))) return err;
    throw err;
  }
}

/** `a, a+1, …` as bytes (mod 256). */
export function range(start: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);
}

/** A random source that hands out the given chunks in order and checks each requested length. */
export function scripted(...chunks: Uint8Array[]): (n: number) => Uint8Array {
  const queue = [...chunks];
  return (n) => {
    const next = queue.shift();
    if (next === undefined || next.length !== n) throw new Error(`scripted random: unexpected request for ${n} bytes`);
    return next;
  };
}

/** A deterministic, non-cryptographic random source for tests (xorshift32). */
export function seededRandom(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/** Byte-level mutations of a valid encoding: flip, set, insert, delete, truncate, append. */
export const byteMutation = fc.record({
  kind: fc.constantFrom("flip", "set", "insert", "delete", "truncate", "append"),
  at: fc.nat(),
  value: fc.integer({ min: 0, max: 255 }),
});

export function mutate(bytes: Uint8Array, m: { kind: string; at: number; value: number }): Uint8Array {
  const out = [...bytes];
  const at = out.length === 0 ? 0 : m.at % out.length;
  switch (m.kind) {
    case "flip":
      if (out.length > 0) out[at] = (out[at] as number) ^ (m.value || 1);
      break;
    case "set":
      if (out.length > 0) out[at] = m.value;
      break;
    case "insert":
      out.splice(at, 0, m.value);
      break;
    case "delete":
      out.splice(at, 1);
      break;
    case "truncate":
      out.length = at;
      break;
    case "append":
      out.push(m.value);
      break;
  }
  return Uint8Array.from(out);
}
