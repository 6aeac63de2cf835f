// This repository's own authbench config: the reference auth target, its four optimisation
// presets (as variants), its server-side counters and its scenarios (six of requests, two
// journeys), declared through the same public API any user's service gets. `npm run bench` and
// every command read it from here.
import { fileURLToPath } from 'node:url'
import { defineConfig, defineTarget } from 'authbench'
import { SCENARIOS } from './scenarios/index.ts'
import { presetVariantEnv } from './scenarios/phases-env.ts'
import { AUTH_REPORT } from './scenarios/report.ts'
import { PRESETS, loadConfig as loadTargetConfig } from './target/config.ts'
import { BASE_PATH } from './scenarios/catalog.ts'

export const authTarget = defineTarget({
  name: 'auth',
  description: 'the Fastify reference auth service (target/server.ts)',
  start: {
    // Absolute, so scripts that import this definition start it from anywhere.
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    command: 'node',
    args: ['--import', 'tsx', 'target/server.ts'],
    env: { LOG_LEVEL: 'warn' }
  },
  readiness: { path: `${BASE_PATH}/`, timeoutMs: 20_000 },
  stop: { signal: 'SIGTERM', graceMs: 5_000 },
  metrics: {
    path: '/metrics',
    counters: {
      cacheHits: { metric: 'authbench_cache_hits_total', label: 'cache hits' },
      cacheMisses: { metric: 'authbench_cache_misses_total', label: 'cache misses' },
      batchFlushes: { metric: 'authbench_batch_flushes_total', label: 'batch flushes' },
      queueRejections: { metric: 'authbench_queue_rejections_total', label: '429 rejections' },
      poolWaits: { metric: 'authbench_pool_waits_total', label: 'pool waits' },
      revocationsPersisted: { metric: 'authbench_revocations_persisted_total', label: 'revocations persisted by workers' }
    }
  },
  configPath: `${BASE_PATH}/debug/stats`,
  configFrom: (body) => {
    const config = (body as { config?: unknown } | null)?.config
    return typeof config === 'object' && config !== null ? (config as Record<string, unknown>) : null
  },
  // The target's own config loader: a bad value is refused before anything starts, naming the variable.
  checkEnv: (env) => void loadTargetConfig({ ...process.env, ...env, PORT: '0' }),
  variantsEnv: presetVariantEnv,
  variants: Object.fromEntries(PRESETS.map((preset) => [preset, { PRESET: preset }])),
  // The target's word for its variants, and its two most used settings, on the command line.
  variantAlias: 'preset',
  options: {
    store: { env: 'STORE', values: ['memory', 'postgres'], description: 'where tokens and revocations are kept: memory (embedded) or postgres (DATABASE_URL)' },
    cache: {
      env: 'CACHE',
      values: ['none', 'lru', 'redis', 'tiered'],
      description: 'token cache in front of the store (redis and tiered use REDIS_URL; in `variants`, only redis or tiered, for the presets that cache)'
    }
  },
  report: AUTH_REPORT
})

export default defineConfig({
  targets: [authTarget],
  scenarios: SCENARIOS
})
