// The target's configuration: one schema, defaults in one object, named presets for the
// optimisation phases (baseline, phase1–3), and any single environment variable overriding a preset.
// The result is validated once and frozen; a bad value stops start-up naming the variable.
import { isIPv4 } from 'node:net'
import { z } from 'zod'
import { ConfigError } from './errors.ts'

export const PRESETS = ['baseline', 'phase1', 'phase2', 'phase3'] as const
export type PresetName = (typeof PRESETS)[number]

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max)
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1')

export const configSchema = z
  .object({
    port: int(0, 65535),
    host: z.string().min(1),
    preset: z.enum(PRESETS),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),

    store: z.enum(['memory', 'postgres']),
    databaseUrl: z.string().url().nullable(),
    cache: z.enum(['none', 'lru', 'redis', 'tiered']),
    redisUrl: z.string().url().nullable(),

    jwtSecret: z.string().nullable(),
    jwtIssuer: z.string().min(1),
    tokenTtlS: int(1, 86_400 * 30),
    ottTtlS: int(1, 86_400),
    bodyLimitBytes: int(64, 1_048_576),
    /** Seed the sample clients and endpoint rules at start (idempotent). */
    seedSampleData: bool,

    dbPoolMax: int(1, 10_000),
    dbPoolMin: int(0, 10_000),
    dbPoolIdleTimeoutMs: int(0),
    dbPoolMaxLifetimeMs: int(0),
    dbPoolConnectTimeoutMs: int(0),

    /** 0 turns the batch writer off: every token is inserted on the request path (the naive service). */
    batchSize: int(0, 100_000),
    batchFlushIntervalMs: int(1, 600_000),
    batchMaxPending: int(1, 10_000_000),
    batchRetryBaseMs: int(1, 60_000),
    batchRetryMaxMs: int(1, 600_000),

    /** 0 persists revocations and OTT consumption on the request path. */
    revocationWorkers: int(0, 256),
    revocationQueueCapacity: int(1, 10_000_000),
    revocationBatchSize: int(1, 100_000),

    /** 0 turns the request queue off. */
    queueMaxConcurrent: int(0, 100_000),
    queueCapacity: int(0, 10_000_000),
    queueTimeoutMs: int(1, 600_000),

    /**
     * Admission by event-loop pressure (@fastify/under-pressure), beside the request queue: the
     * queue only sees requests that reached a handler, while a CPU-bound process queues them in the
     * kernel and the parser. Past either limit API requests are shed with 503 and Retry-After.
     * 0 turns a check off; both 0 turn shedding off.
     */
    shedMaxEventLoopDelayMs: int(0, 60_000),
    /** Event-loop utilisation (0–1) over the last sample interval above which requests are shed. */
    shedMaxEventLoopUtilization: z.coerce.number().min(0).max(1),
    shedSampleIntervalMs: int(10, 10_000),
    shedMinCpuShare: z.coerce.number().min(0).max(1),
    shedRetryAfterS: int(1, 3_600),
    /**
     * A shed reply also closes its connection (as Envoy's overload manager stops keep-alive under
     * pressure): a client with thousands of connections then has fewer requests queued at once in
     * this process's kernel buffers and parser, where every one waits behind all the others.
     */
    shedCloseConnection: bool,
    /**
     * Open connections served at once; past it a new connection gets 503 with Retry-After at its
     * first bytes and is closed (target/services/shedding.ts). 0 turns it off. Below maxConnections,
     * which is the hard cap (sockets past it are destroyed unanswered).
     */
    shedMaxActiveConnections: int(0, 1_000_000),

    cacheTtlMs: int(1, 86_400_000),
    cacheMaxEntries: int(1, 100_000_000),

    /** 0 turns the sweeper off. */
    sweeperIntervalMs: int(0, 86_400_000),
    sweeperBatchSize: int(1, 1_000_000),
    sweeperPauseMs: int(0, 600_000),
    sweeperLockTtlMs: int(100, 3_600_000),

    /** Number of target processes (node:cluster) sharing the port; the phase3 preset runs two. */
    instances: int(1, 64),
    shutdownTimeoutMs: int(100, 600_000),

    /**
     * POST /debug/tokens (mints up to 5,000 tokens a call) and GET /debug/stats. Unset, it is on
     * only when HOST is a loopback address: a target reachable from elsewhere must not hand out
     * tokens in bulk or describe its internals to anyone who asks.
     */
    debugRoutes: bool,
    /** Time a client has to send its complete request headers; slow-header sockets are closed after it (408). */
    headersTimeoutMs: int(1, 600_000),
    /** Time a client has to send a whole request (0 = no limit). */
    requestTimeoutMs: int(0, 3_600_000),
    /** How long an idle keep-alive connection is kept open. */
    keepAliveTimeoutMs: int(1, 3_600_000),
    /** Most open connections at once (0 = no cap); past it new connections are closed at once. */
    maxConnections: int(0, 1_000_000),

    injectCpuUs: int(0, 1_000_000),
    injectDelayMs: int(0, 600_000),
    injectDelayRatio: z.coerce.number().min(0).max(1),
    /**
     * Test-only: validate ignores revocations and OTT consumption (both are still recorded), so a
     * correctness check of the harness (a revoked token must answer 401) has a known failure to find.
     */
    injectForgetRevocations: bool
  })
  .superRefine((c, ctx) => {
    if (c.dbPoolMin > c.dbPoolMax) ctx.addIssue({ code: 'custom', path: ['dbPoolMin'], message: 'must not exceed DB_POOL_MAX' })
    if (c.store === 'postgres' && !c.databaseUrl) ctx.addIssue({ code: 'custom', path: ['databaseUrl'], message: 'is required when STORE=postgres' })
    if ((c.cache === 'redis' || c.cache === 'tiered') && !c.redisUrl) ctx.addIssue({ code: 'custom', path: ['redisUrl'], message: `is required when CACHE=${c.cache}` })
    if (c.batchRetryBaseMs > c.batchRetryMaxMs) ctx.addIssue({ code: 'custom', path: ['batchRetryBaseMs'], message: 'must not exceed BATCH_RETRY_MAX_MS' })
    if (c.instances > 1 && c.store !== 'postgres')
      ctx.addIssue({ code: 'custom', path: ['instances'], message: 'above 1 needs STORE=postgres: memory stores are per process and instances would disagree' })
    if (c.instances > 1 && c.cache === 'lru')
      ctx.addIssue({ code: 'custom', path: ['instances'], message: 'above 1 cannot use CACHE=lru: a per-process cache would serve stale revocations; use redis, tiered or none' })
    if (c.instances > 1 && c.cache === 'none' && c.revocationWorkers > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['instances'],
        message: 'above 1 with REVOCATION_WORKERS needs a shared cache (redis or tiered) so revocations are seen by every instance at once'
      })
    if (c.requestTimeoutMs > 0 && c.headersTimeoutMs > c.requestTimeoutMs)
      ctx.addIssue({ code: 'custom', path: ['headersTimeoutMs'], message: 'must not exceed REQUEST_TIMEOUT_MS' })
    if (c.jwtSecret !== null && Buffer.byteLength(c.jwtSecret) < 32) ctx.addIssue({ code: 'custom', path: ['jwtSecret'], message: 'must be at least 32 bytes' })
  })

export type Config = Readonly<z.infer<typeof configSchema>>
type ConfigInput = { [K in keyof Config]: Config[K] }

/** Every key's environment variable. The mapping is explicit so that errors can name it. */
export const ENV_NAMES: Readonly<Record<keyof Config, string>> = Object.freeze({
  port: 'PORT',
  host: 'HOST',
  preset: 'PRESET',
  logLevel: 'LOG_LEVEL',
  store: 'STORE',
  databaseUrl: 'DATABASE_URL',
  cache: 'CACHE',
  redisUrl: 'REDIS_URL',
  jwtSecret: 'JWT_SECRET',
  jwtIssuer: 'JWT_ISSUER',
  tokenTtlS: 'TOKEN_TTL_S',
  ottTtlS: 'OTT_TTL_S',
  bodyLimitBytes: 'BODY_LIMIT_BYTES',
  seedSampleData: 'SEED_SAMPLE_DATA',
  dbPoolMax: 'DB_POOL_MAX',
  dbPoolMin: 'DB_POOL_MIN',
  dbPoolIdleTimeoutMs: 'DB_POOL_IDLE_TIMEOUT_MS',
  dbPoolMaxLifetimeMs: 'DB_POOL_MAX_LIFETIME_MS',
  dbPoolConnectTimeoutMs: 'DB_POOL_CONNECT_TIMEOUT_MS',
  batchSize: 'BATCH_SIZE',
  batchFlushIntervalMs: 'BATCH_FLUSH_INTERVAL_MS',
  batchMaxPending: 'BATCH_MAX_PENDING',
  batchRetryBaseMs: 'BATCH_RETRY_BASE_MS',
  batchRetryMaxMs: 'BATCH_RETRY_MAX_MS',
  revocationWorkers: 'REVOCATION_WORKERS',
  revocationQueueCapacity: 'REVOCATION_QUEUE_CAPACITY',
  revocationBatchSize: 'REVOCATION_BATCH_SIZE',
  queueMaxConcurrent: 'QUEUE_MAX_CONCURRENT',
  queueCapacity: 'QUEUE_CAPACITY',
  queueTimeoutMs: 'QUEUE_TIMEOUT_MS',
  shedMaxEventLoopDelayMs: 'SHED_MAX_EVENT_LOOP_DELAY_MS',
  shedMaxEventLoopUtilization: 'SHED_MAX_EVENT_LOOP_UTILIZATION',
  shedSampleIntervalMs: 'SHED_SAMPLE_INTERVAL_MS',
  shedMinCpuShare: 'SHED_MIN_CPU_SHARE',
  shedRetryAfterS: 'SHED_RETRY_AFTER_S',
  shedCloseConnection: 'SHED_CLOSE_CONNECTION',
  shedMaxActiveConnections: 'SHED_MAX_ACTIVE_CONNECTIONS',
  cacheTtlMs: 'CACHE_TTL_MS',
  cacheMaxEntries: 'CACHE_MAX_ENTRIES',
  sweeperIntervalMs: 'SWEEPER_INTERVAL_MS',
  sweeperBatchSize: 'SWEEPER_BATCH_SIZE',
  sweeperPauseMs: 'SWEEPER_PAUSE_MS',
  sweeperLockTtlMs: 'SWEEPER_LOCK_TTL_MS',
  instances: 'INSTANCES',
  shutdownTimeoutMs: 'SHUTDOWN_TIMEOUT_MS',
  debugRoutes: 'DEBUG_ROUTES',
  headersTimeoutMs: 'HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'KEEP_ALIVE_TIMEOUT_MS',
  maxConnections: 'MAX_CONNECTIONS',
  injectCpuUs: 'INJECT_CPU_US',
  injectDelayMs: 'INJECT_DELAY_MS',
  injectDelayRatio: 'INJECT_DELAY_RATIO',
  injectForgetRevocations: 'INJECT_FORGET_REVOCATIONS'
})

/** Shedding limits of the presets that shed (phase2 and later); measured in docs/reference-target.md. */
// 512 active connections: under a 4,000-connection closed-model flood on one core the admitted p99
// was 66 ms at 500 and 47 ms at 250, against 112–307 ms at 1,000–1,024 (where the kernel's accept
// queue already holds most of such a flood back) and ~450 ms when only requests were shed; and it
// stays well above what benchmarks hold (32 closed-model connections, the open model's sockets in
// use) and at nginx's default worker_connections.
const SHED = Object.freeze({ maxEventLoopDelayMs: 40, maxEventLoopUtilization: 0, sampleIntervalMs: 100, minCpuShare: 0.8, maxActiveConnections: 512 })

export const DEFAULTS: Readonly<ConfigInput> = Object.freeze({
  port: 3000,
  host: '127.0.0.1',
  preset: 'phase2',
  logLevel: 'warn',
  store: 'memory',
  databaseUrl: null,
  cache: 'lru',
  redisUrl: null,
  jwtSecret: null,
  jwtIssuer: 'auth-server',
  tokenTtlS: 3600,
  ottTtlS: 120,
  bodyLimitBytes: 4096,
  seedSampleData: true,
  dbPoolMax: 20,
  dbPoolMin: 5,
  dbPoolIdleTimeoutMs: 600_000,
  dbPoolMaxLifetimeMs: 1_800_000,
  dbPoolConnectTimeoutMs: 5_000,
  batchSize: 500,
  batchFlushIntervalMs: 200,
  batchMaxPending: 50_000,
  batchRetryBaseMs: 50,
  batchRetryMaxMs: 5_000,
  revocationWorkers: 0,
  revocationQueueCapacity: 10_000,
  revocationBatchSize: 200,
  queueMaxConcurrent: 256,
  queueCapacity: 2_048,
  queueTimeoutMs: 100,
  shedMaxEventLoopDelayMs: SHED.maxEventLoopDelayMs,
  shedMaxEventLoopUtilization: SHED.maxEventLoopUtilization,
  shedSampleIntervalMs: SHED.sampleIntervalMs,
  shedMinCpuShare: SHED.minCpuShare,
  shedRetryAfterS: 1,
  shedCloseConnection: false,
  shedMaxActiveConnections: SHED.maxActiveConnections,
  cacheTtlMs: 3_600_000,
  cacheMaxEntries: 100_000,
  sweeperIntervalMs: 600_000,
  sweeperBatchSize: 10_000,
  sweeperPauseMs: 200,
  sweeperLockTtlMs: 30_000,
  instances: 1,
  shutdownTimeoutMs: 10_000,
  // Replaced by "is HOST loopback?" in loadConfig unless DEBUG_ROUTES is set.
  debugRoutes: false,
  // Node's own defaults are 60 s headers / 300 s request / 5 s keep-alive and no cap; a 10 s
  // header budget frees a slow-header socket six times sooner, 72 s keep-alive outlives the
  // usual 60 s idle timeout of proxies in front (Fastify's choice), and the cap bounds file
  // descriptors and memory under connection exhaustion.
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  maxConnections: 10_000,
  injectCpuUs: 0,
  injectDelayMs: 0,
  injectDelayRatio: 0,
  injectForgetRevocations: false
})

/**
 * The optimisation phases, each adding to the one before, so that a phases run shows what each
 * mechanism buys. Each turns on a real mechanism:
 * baseline: small pool, a synchronous insert per token, no cache, no queue, revocation on the request path.
 * phase1: pool sizing and the token batch writer.
 * phase2: adds the request queue with 429 backpressure, shedding on event-loop pressure and the shared cache.
 * phase3: adds the revocation worker pool and several instances.
 */
export const PRESET_VALUES: Readonly<Record<PresetName, Partial<ConfigInput>>> = Object.freeze({
  baseline: {
    dbPoolMax: 4,
    dbPoolMin: 0,
    batchSize: 0,
    cache: 'none',
    queueMaxConcurrent: 0,
    shedMaxEventLoopDelayMs: 0,
    shedMaxEventLoopUtilization: 0,
    shedMaxActiveConnections: 0,
    revocationWorkers: 0,
    instances: 1
  },
  phase1: {
    dbPoolMax: 20,
    dbPoolMin: 5,
    batchSize: 500,
    batchFlushIntervalMs: 200,
    cache: 'none',
    queueMaxConcurrent: 0,
    shedMaxEventLoopDelayMs: 0,
    shedMaxEventLoopUtilization: 0,
    shedMaxActiveConnections: 0,
    revocationWorkers: 0,
    instances: 1
  },
  phase2: {
    dbPoolMax: 20,
    dbPoolMin: 5,
    batchSize: 500,
    batchFlushIntervalMs: 200,
    cache: 'lru',
    queueMaxConcurrent: 256,
    queueCapacity: 2_048,
    queueTimeoutMs: 100,
    revocationWorkers: 0,
    instances: 1
  },
  phase3: {
    dbPoolMax: 20,
    dbPoolMin: 5,
    batchSize: 500,
    batchFlushIntervalMs: 200,
    cache: 'lru',
    queueMaxConcurrent: 256,
    queueCapacity: 2_048,
    queueTimeoutMs: 100,
    revocationWorkers: 4,
    instances: 2
  }
})

const KEY_BY_ENV = new Map(Object.entries(ENV_NAMES).map(([k, v]) => [v, k as keyof Config]))

/**
 * Build the frozen config from environment variables. Precedence: DEFAULTS < preset < env.
 * `DATABASE_URL` alone selects the PostgreSQL store, and `REDIS_URL` alone makes a preset's
 * in-process cache `tiered` (an LRU in front of shared Redis), unless STORE / CACHE say otherwise.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const presetRaw = env.PRESET ?? DEFAULTS.preset
  const presetParsed = z.enum(PRESETS).safeParse(presetRaw)
  if (!presetParsed.success) {
    throw new ConfigError('PRESET', `must be one of ${PRESETS.join(', ')}; got ${JSON.stringify(presetRaw)}`)
  }
  const merged: Record<string, unknown> = { ...DEFAULTS, ...PRESET_VALUES[presetParsed.data], preset: presetParsed.data }
  for (const [name, value] of Object.entries(env)) {
    const key = KEY_BY_ENV.get(name)
    if (key === undefined || value === undefined || value === '') continue
    merged[key] = value
  }
  if (!env.DEBUG_ROUTES) merged.debugRoutes = isLoopbackHost(String(merged.host))
  if (env.STORE === undefined && env.DATABASE_URL) merged.store = 'postgres'
  if (env.CACHE === undefined && env.REDIS_URL && merged.cache === 'lru') merged.cache = 'tiered'
  // phase3's several instances need state they can share: PostgreSQL and a shared cache. On the
  // embedded default (per-process memory) the preset runs one instance, its other mechanisms on.
  if (!env.INSTANCES && (merged.instances as number) > 1 && !(merged.store === 'postgres' && (merged.cache === 'redis' || merged.cache === 'tiered'))) merged.instances = 1
  const parsed = configSchema.safeParse(merged)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const key = (issue?.path[0] ?? 'unknown') as keyof Config
    const envName = ENV_NAMES[key] ?? String(key)
    const shown = key === 'jwtSecret' || key === 'databaseUrl' || key === 'redisUrl' ? '(value not shown)' : `(got ${JSON.stringify(merged[key])})`
    throw new ConfigError(envName, `${issue?.message ?? 'invalid'} ${shown}`)
  }
  return Object.freeze(parsed.data)
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`; a wildcard (0.0.0.0, ::) is not loopback. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h
  return isIPv4(v4) && v4.startsWith('127.')
}

/** The config without secrets, for /debug/stats and result fingerprints. */
export function describeConfig(config: Config): Record<string, unknown> {
  const redact = (url: string | null): string | null => (url === null ? null : url.replace(/\/\/([^@/]*)@/, '//***@'))
  return { ...config, jwtSecret: config.jwtSecret === null ? null : '***', databaseUrl: redact(config.databaseUrl), redisUrl: redact(config.redisUrl) }
}
