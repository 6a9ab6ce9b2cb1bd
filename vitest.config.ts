import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of the workspace packages, no build needed.
    alias: [
      {
        find: /^@triadkit\/(protocol|sdk|firmware-sim|provisioning-station)$/,
        replacement: `${root}$1/src/index.ts`,
      },
    ],
  },
  test: {
    include: ["{protocol,sdk,firmware-sim,provisioning-station}/src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    // Many integration tests spawn CLIs and simulated boards; on a loaded 2-core CI machine they take 20–50 s.
    // The timeout catches hangs, not slowness (performance is measured by `npm run bench`).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Both cores: the CLI-heavy files spend most of their time waiting on child processes.
    maxWorkers: 2,
    pool: "forks",
  },
});
