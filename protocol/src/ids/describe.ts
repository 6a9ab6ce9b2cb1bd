/** Internal helpers for error messages of the identifier validators (not part of the public API). */

/**
 * Describes why `value` does not fit "between `min` and `max` characters, each allowed by `allowed`",
 * for an error message: `"got an empty string"`, `"got 14 characters"`, or
 * `"got \"x\" at position 3"` (1-based). Identifiers are not secrets, so one offending character may
 * be shown; it is JSON-quoted so control characters stay visible.
 */
export function describeMismatch(value: string, allowed: RegExp, min: number, max: number): string {
  if (value.length === 0) return "got an empty string";
  if (value.length < min || value.length > max) return `got ${value.length} characters`;
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (!allowed.test(c)) return `got ${JSON.stringify(c)} at position ${i + 1}`;
  }
  return `got ${JSON.stringify(value)}`;
}

/** Trims a string argument; anything that is not a string (from untyped JavaScript callers) becomes "". */
export function trimInput(input: unknown): string {
  return typeof input === "string" ? input.trim() : "";
}
