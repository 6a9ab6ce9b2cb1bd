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
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
