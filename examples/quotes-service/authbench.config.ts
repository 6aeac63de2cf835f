// authbench's config for this service: how to start it, where it is ready, how to build a git ref
// of it for `authbench ab --a <ref> --b <ref>`, and the two scenarios.
import { defineConfig, defineTarget } from 'authbench'

export default defineConfig({
  targets: [
    defineTarget({
      name: 'quotes',
      description: 'the quotes service (plain node:http, in-memory order books)',
      start: { command: 'node', args: ['src/server.mjs'] },
      readiness: { path: '/health', timeoutMs: 10_000 },
      stop: { signal: 'SIGTERM', graceMs: 3_000 },
      // Each git ref is checked out into a temporary worktree and installed there (runtime
      // dependencies only: authbench itself runs from this checkout); cached by commit.
      install: 'npm ci --omit=dev --no-audit --no-fund'
    })
  ],
  scenarios: ['scenarios/quote.ts', 'scenarios/order.ts'],
  load: { durationMs: 3_000, warmupMs: 1_000, connections: 16 }
})
