import { type ErrorCode, TriadkitError } from "./errors.js";

/**
 * Test helper: runs `fn`, asserts it throws a {@link TriadkitError} with `code`, and returns the error.
 * Framework-free so every package's tests (and users' tests) can use it.
 */
export function expectTriadkitError(fn: () => unknown, code: ErrorCode): TriadkitError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) throw new Error(`expected TriadkitError ${code}, but nothing was thrown`);
  if (!(thrown instanceof TriadkitError)) {
    throw new Error(`expected TriadkitError ${code}, got ${String(thrown)}`, { cause: thrown });
  }
  if (thrown.code !== code) {
    throw new Error(`expected TriadkitError ${code}, got ${thrown.code}: ${thrown.message}`, { cause: thrown });
  }
  return thrown;
}

/** Async variant of {@link expectTriadkitError}. */
export async function expectTriadkitErrorAsync(fn: () => Promise<unknown>, code: ErrorCode): Promise<TriadkitError> {
  let thrown: unknown;
  try {
    await fn();
  } catch (err) {
    thrown = err;
  }
  return expectTriadkitError(() => {
    if (thrown !== undefined) throw thrown;
  }, code);
}
