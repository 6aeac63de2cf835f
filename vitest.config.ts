import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Load tests and PostgreSQL fixtures share two cores: run files one at a time so that
    // timing-sensitive tests (coordinated omission, kill mid-trial) are not starved.
    fileParallelism: false,
    pool: 'forks'
  }
})
