import { defineConfig } from "vitest/config"

// Tests that measure time under load run alone, after the rest: the cluster test asserts that a
// killed worker's generations resume within 10 s (about 3 s on a quiet machine, over 10 s when a
// composition runs on the other core). Vitest runs projects of a lower `groupOrder` first.
const alone = ["test/durable/Cluster.executable.test.ts"]

const shared = {
  globalSetup: ["test/support/globalSetup.ts"],
  setupFiles: ["test/support/setup.ts"],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: "forks" as const,
  sequence: { concurrent: false }
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: "main",
          include: ["test/**/*.test.ts"],
          exclude: ["**/node_modules/**", ...alone],
          poolOptions: { forks: { maxForks: 2, minForks: 1 } },
          sequence: { ...shared.sequence, groupOrder: 0 }
        }
      },
      {
        test: {
          ...shared,
          name: "alone",
          include: alone,
          poolOptions: { forks: { maxForks: 1, minForks: 1 } },
          sequence: { ...shared.sequence, groupOrder: 1 }
        }
      }
    ]
  }
})
