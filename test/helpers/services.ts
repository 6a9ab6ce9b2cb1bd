/**
 * Real local services (Mosquitto, PostgreSQL) for integration tests. When one is missing the test says so
 * loudly and is skipped; with TRIADKIT_REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails instead.
 */
import { createConnection } from "node:net";

export async function isReachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Resolves to true when the service answers. Otherwise prints a loud notice and resolves false, or throws
 * when TRIADKIT_REQUIRE_SERVICES=1.
 */
export async function requireService(name: string, host: string, port: number): Promise<boolean> {
  if (await isReachable(host, port)) return true;
  const message = `${name} is not reachable at ${host}:${port}`;
  if (process.env.TRIADKIT_REQUIRE_SERVICES === "1") {
    throw new Error(`${message}, and TRIADKIT_REQUIRE_SERVICES=1 requires it`);
  }
  process.stderr.write(`\n*** SKIPPED: ${message}; the tests that need it did not run ***\n\n`);
  return false;
}

export const MOSQUITTO = { host: "127.0.0.1", port: 1883 } as const;
