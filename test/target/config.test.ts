// Config: a bad value is refused at start naming the variable (in loadConfig and in the real
// process, exit 2); the presets differ as documented; any single variable overrides a preset.
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULTS, PRESETS, describeConfig, loadConfig } from '../../target/config.ts'
import { ConfigError } from '../../target/errors.ts'
import { SECRET, closeAllApps, getToken, makeApp, validate } from './helpers.ts'
import { exitWithin, spawnServer, type ServerProcess } from './process.ts'

afterEach(closeAllApps)

const base = { JWT_SECRET: SECRET }

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env })
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`)
}

describe('a bad value is refused, naming the variable', () => {
  const BAD: Array<[Record<string, string>, string]> = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ PORT: '80.5' }, 'PORT'],
    [{ PRESET: 'nope' }, 'PRESET'],
    [{ PRESET: 'Phase2' }, 'PRESET'],
    [{ DB_POOL_MIN: '30', DB_POOL_MAX: '10' }, 'DB_POOL_MIN'],
    [{ DB_POOL_MAX: '0' }, 'DB_POOL_MAX'],
    [{ JWT_SECRET: 'too-short' }, 'JWT_SECRET'],
    [{ JWT_SECRET: 'x'.repeat(31) }, 'JWT_SECRET'],
    [{ STORE: 'postgres' }, 'DATABASE_URL'],
    [{ STORE: 'mysql' }, 'STORE'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ CACHE: 'redis' }, 'REDIS_URL'],
    [{ CACHE: 'memcached' }, 'CACHE'],
    [{ INSTANCES: '2' }, 'INSTANCES'],
    [{ INSTANCES: '0' }, 'INSTANCES'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ BATCH_SIZE: '-1' }, 'BATCH_SIZE'],
    [{ BATCH_SIZE: 'lots' }, 'BATCH_SIZE'],
    [{ BATCH_FLUSH_INTERVAL_MS: '0' }, 'BATCH_FLUSH_INTERVAL_MS'],
    [{ BATCH_RETRY_BASE_MS: '100', BATCH_RETRY_MAX_MS: '10' }, 'BATCH_RETRY_BASE_MS'],
    [{ QUEUE_TIMEOUT_MS: '0' }, 'QUEUE_TIMEOUT_MS'],
    [{ QUEUE_MAX_CONCURRENT: '1.5' }, 'QUEUE_MAX_CONCURRENT'],
    [{ REVOCATION_WORKERS: '1000' }, 'REVOCATION_WORKERS'],
    [{ SWEEPER_BATCH_SIZE: '0' }, 'SWEEPER_BATCH_SIZE'],
    [{ TOKEN_TTL_S: '0' }, 'TOKEN_TTL_S'],
    [{ BODY_LIMIT_BYTES: '10' }, 'BODY_LIMIT_BYTES'],
    [{ SEED_SAMPLE_DATA: 'maybe' }, 'SEED_SAMPLE_DATA'],
    [{ INJECT_DELAY_RATIO: '2' }, 'INJECT_DELAY_RATIO'],
    [{ INJECT_CPU_US: '-5' }, 'INJECT_CPU_US'],
    [{ DEBUG_ROUTES: 'sometimes' }, 'DEBUG_ROUTES'],
    [{ HEADERS_TIMEOUT_MS: '0' }, 'HEADERS_TIMEOUT_MS'],
    [{ HEADERS_TIMEOUT_MS: '20000', REQUEST_TIMEOUT_MS: '10000' }, 'HEADERS_TIMEOUT_MS'],
    [{ KEEP_ALIVE_TIMEOUT_MS: '0' }, 'KEEP_ALIVE_TIMEOUT_MS'],
    [{ MAX_CONNECTIONS: '-1' }, 'MAX_CONNECTIONS']
  ]
  it.each(BAD)('%j → ConfigError naming %s', (env, variable) => {
    const err = configError(env)
    expect(err.variable).toBe(variable)
    expect(err.message.startsWith(`${variable} `)).toBe(true)
    expect(err.code).toBe('AUTH_ERR_CONFIG')
  })

  // A refused JWT_SECRET (or a URL with a password) must not reach stderr or the logs.
  it.each([
    [{ JWT_SECRET: 'hunter2-is-not-long-enough' }, 'hunter2-is-not-long-enough'],
    [{ DATABASE_URL: 'postgres://user:s3cr3t-pw@db:99999/x' }, 's3cr3t-pw'],
    [{ REDIS_URL: 'redis://:s3cr3t-pw@cache:99999' }, 's3cr3t-pw']
  ])('the message of a refused %j does not echo the secret', (env, secret) => {
    const err = configError(env)
    expect(err.variable).toBe(Object.keys(env)[0])
    expect(err.message).not.toContain(secret)
  })
})

describe('presets', () => {
  it('baseline is the naive service: no batch writer, no cache, no queue, no revocation pool', () => {
    const c = loadConfig({ ...base, PRESET: 'baseline' })
    expect(c).toMatchObject({ preset: 'baseline', batchSize: 0, cache: 'none', queueMaxConcurrent: 0, revocationWorkers: 0, instances: 1 })
  })
  it('phase1 turns the batch writer on (and sizes the pool), still no queue or cache', () => {
    const c = loadConfig({ ...base, PRESET: 'phase1' })
    expect(c.batchSize).toBeGreaterThan(0)
    expect(c).toMatchObject({ cache: 'none', queueMaxConcurrent: 0, revocationWorkers: 0 })
    expect(c.dbPoolMax).toBeGreaterThan(loadConfig({ ...base, PRESET: 'baseline' }).dbPoolMax)
  })
  it('phase2 adds the request queue and the cache', () => {
    const c = loadConfig({ ...base, PRESET: 'phase2' })
    expect(c.batchSize).toBeGreaterThan(0)
    expect(c.queueMaxConcurrent).toBeGreaterThan(0)
    expect(c.cache).toBe('lru')
    expect(c.revocationWorkers).toBe(0)
  })
  it('phase3 adds the revocation workers (one instance on the embedded memory store)', () => {
    const c = loadConfig({ ...base, PRESET: 'phase3' })
    expect(c.revocationWorkers).toBeGreaterThan(0)
    expect(c.queueMaxConcurrent).toBeGreaterThan(0)
    expect(c.cache).toBe('lru')
    expect(c.instances).toBe(1)
  })
  it('the default preset is phase2 on the memory store, and every preset builds a distinct config', () => {
    expect(loadConfig(base)).toMatchObject({ preset: 'phase2', store: 'memory' })
    const shapes = PRESETS.map((p) => JSON.stringify({ ...loadConfig({ ...base, PRESET: p }), preset: null }))
    expect(new Set(shapes).size).toBe(PRESETS.length)
  })
  it('the built app has the components its preset names', async () => {
    const b = await makeApp({ PRESET: 'baseline' })
    expect(b.auth.writer).toBeNull()
    expect(b.auth.queue).toBeNull()
    expect(b.auth.revocations).toBeNull()
    expect(b.auth.cache.kind).toBe('none')
    const p3 = await makeApp({ PRESET: 'phase3' })
    expect(p3.auth.writer).not.toBeNull()
    expect(p3.auth.queue).not.toBeNull()
    expect(p3.auth.revocations?.stats().workers).toBe(4)
    expect(p3.auth.cache.kind).toBe('lru')
  })
})

describe('overrides', () => {
  it('a single variable overrides a preset and leaves the rest of it', () => {
    const c = loadConfig({ ...base, PRESET: 'baseline', BATCH_SIZE: '100' })
    expect(c).toMatchObject({ preset: 'baseline', batchSize: 100, cache: 'none', queueMaxConcurrent: 0, dbPoolMax: 4 })
    expect(loadConfig({ ...base, PRESET: 'phase3', CACHE: 'none' })).toMatchObject({ cache: 'none', revocationWorkers: 4 })
    expect(loadConfig({ ...base, PRESET: 'phase2', QUEUE_MAX_CONCURRENT: '0' })).toMatchObject({ queueMaxConcurrent: 0, cache: 'lru' })
    expect(loadConfig({ ...base, PRESET: 'phase1', REVOCATION_WORKERS: '2' })).toMatchObject({ revocationWorkers: 2, cache: 'none' })
  })
  it('numbers and booleans are parsed from strings, empty strings mean unset', () => {
    const c = loadConfig({ ...base, PORT: '8080', SEED_SAMPLE_DATA: 'false', INJECT_DELAY_RATIO: '0.25', BATCH_SIZE: '' })
    expect(c.port).toBe(8080)
    expect(c.seedSampleData).toBe(false)
    expect(c.injectDelayRatio).toBe(0.25)
    expect(c.batchSize).toBe(500)
  })
  it('DATABASE_URL alone selects the postgres store; unknown variables are ignored', () => {
    expect(loadConfig({ ...base, DATABASE_URL: 'postgres://u@h/db' }).store).toBe('postgres')
    expect(loadConfig({ ...base, SOMETHING_ELSE: '1' }).port).toBe(DEFAULTS.port)
  })
  it('the config is frozen', () => {
    const c = loadConfig(base)
    expect(Object.isFrozen(c)).toBe(true)
    expect(() => {
      ;(c as { port: number }).port = 1
    }).toThrow(TypeError)
  })
  it('describeConfig hides the secrets', () => {
    const d = JSON.stringify(describeConfig(loadConfig({ ...base, DATABASE_URL: 'postgres://user:pw-123@h/db' })))
    expect(d).not.toContain(SECRET)
    expect(d).not.toContain('pw-123')
  })
  it('without JWT_SECRET the app generates one of at least 32 bytes and works', async () => {
    const app = await makeApp({ JWT_SECRET: '' })
    expect(app.auth.config.jwtSecret).toBeNull()
    expect(Buffer.byteLength(app.auth.jwtSecret)).toBeGreaterThanOrEqual(32)
    expect(app.auth.jwtSecret).not.toBe(SECRET)
    const jwt = await getToken(app)
    expect((await validate(app, jwt)).statusCode).toBe(200)
  })
})

describe('connection limits', () => {
  it('defaults: 10 s for headers, 30 s per request, 72 s keep-alive, at most 10,000 connections', () => {
    expect(loadConfig(base)).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 72_000, maxConnections: 10_000 })
  })
  it('the built server carries them (defaults and overrides)', async () => {
    const d = await makeApp()
    expect(d.server).toMatchObject({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 72_000, maxConnections: 10_000 })
    const o = await makeApp({ HEADERS_TIMEOUT_MS: '2000', REQUEST_TIMEOUT_MS: '0', KEEP_ALIVE_TIMEOUT_MS: '1500', MAX_CONNECTIONS: '64' })
    expect(o.server).toMatchObject({ headersTimeout: 2_000, requestTimeout: 0, keepAliveTimeout: 1_500, maxConnections: 64 })
  })
})

describe('debug routes are on only when enabled', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['192.168.1.1', false],
    ['example.com', false]
  ])('HOST=%s → DEBUG_ROUTES defaults to %s', (host, on) => {
    expect(loadConfig({ ...base, HOST: host }).debugRoutes).toBe(on)
  })
  it('DEBUG_ROUTES overrides the host rule both ways', () => {
    expect(loadConfig({ ...base, HOST: '0.0.0.0', DEBUG_ROUTES: 'true' }).debugRoutes).toBe(true)
    expect(loadConfig({ ...base, HOST: '127.0.0.1', DEBUG_ROUTES: 'false' }).debugRoutes).toBe(false)
  })
  it('off: /debug/tokens and /debug/stats answer 404 with the error shape; the API still works', async () => {
    const app = await makeApp({ HOST: '0.0.0.0' })
    const body = { grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'test-secret-123', count: 10 }
    for (const req of [
      { method: 'POST' as const, url: '/auth-server/v1/oauth/debug/tokens', payload: body },
      { method: 'GET' as const, url: '/debug/stats' },
      { method: 'GET' as const, url: '/auth-server/v1/oauth/debug/stats' }
    ]) {
      const res = await app.inject(req)
      expect(res.statusCode, req.url).toBe(404)
      expect(Object.keys(res.json() as object).sort()).toEqual(['error', 'error_description', 'request_id'])
    }
    expect((await validate(app, await getToken(app))).statusCode).toBe(200)
  })
  it('on (loopback default): both answer', async () => {
    const app = await makeApp()
    const res = await app.inject({
      method: 'POST',
      url: '/auth-server/v1/oauth/debug/tokens',
      payload: { grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'test-secret-123', count: 3 }
    })
    expect(res.statusCode).toBe(200)
    expect((res.json() as { access_tokens: string[] }).access_tokens).toHaveLength(3)
    expect((await app.inject({ method: 'GET', url: '/debug/stats' })).statusCode).toBe(200)
  })
})

describe('the real process refuses a bad value at start', () => {
  let proc: ServerProcess | undefined
  afterEach(async () => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL')
    proc = undefined
  })

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PRESET: 'nope', PORT: '0' }, 'PRESET'],
    [{ JWT_SECRET: 'short', PORT: '0' }, 'JWT_SECRET']
  ])('%j → exit code 2 and a message naming %s', async (env, variable) => {
    proc = spawnServer(env)
    expect(await exitWithin(proc, 20_000)).toBe(2)
    expect(proc.stderr()).toMatch(new RegExp(`invalid configuration: ${variable}\\b`))
    expect(proc.stderr()).not.toMatch(/\n\s+at /)
  })
})
