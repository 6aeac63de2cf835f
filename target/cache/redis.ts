// Shared token caches on Redis (ioredis): `redis`, and `tiered` (an in-process LRU in front of
// Redis). A Redis failure never fails a request: reads fall through to the store and count an error;
// ioredis reconnects on its own and the cache is used again once it is back.
//
// Cross-instance invalidation (the `tiered` LRU): the LRU is trusted only for revocation state,
// which is monotonic (a revoked or used token never becomes valid again), so a local "revoked" can
// never be stale. A "not revoked" answer always comes from Redis, where markRevoked writes before
// it resolves; so once A's markRevoked returns, every instance's next `get` sees the revocation.
// Cost: one Redis GET (auto-pipelined, single-flighted per token) per validation of a valid token,
// about 0.1–0.3 ms on a local Redis; the LRU saves the round trip only for revoked and used tokens.
// Rejected: pub/sub invalidation of local "valid" entries. PUBLISH returning N says the message
// reached N sockets, not that the N instances applied it, and an instance whose subscription died
// silently would serve a revoked token until it noticed. Making that safe needs acknowledgements
// plus leases with membership (a revoke then waits for every live instance or a lease expiry):
// a faster read path for a much more fragile write path, left for when the GET shows in a profile.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import type { RedisOptions } from 'ioredis'
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import type { CacheStats, TokenCache, TokenState } from '../domain.ts'
import { DependencyError } from '../errors.ts'
import { LruTokenCache } from './local.ts'

export interface RedisCacheOptions {
  url: string
  kind: 'redis' | 'tiered'
  /** Bound of the in-process tier (tiered only). */
  maxEntries: number
  /** Upper bound on any entry's TTL, so Redis holds no token state longer than the config says. */
  maxTtlMs: number
  /** Namespaces keys; tests use a unique prefix per file. */
  keyPrefix?: string
  /** A command not answered in this time fails (and the read falls through to the store). */
  commandTimeoutMs?: number
  connectTimeoutMs?: number
  logger?: Logger
}

/**
 * ioredis settings that make a dead Redis fail fast instead of queueing requests: no offline
 * queue (a command while disconnected rejects at once), one retry, a short command timeout, and a
 * capped reconnect backoff so that the cache comes back soon after Redis does.
 */
export function failFastRedisOptions(opts: { commandTimeoutMs?: number; connectTimeoutMs?: number; name?: string } = {}): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: opts.commandTimeoutMs ?? 250,
    connectTimeout: opts.connectTimeoutMs ?? 1_000,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
    // Batches the GETs of concurrent validations into one write per event-loop turn.
    enableAutoPipelining: true,
    lazyConnect: true,
    connectionName: opts.name ?? 'authbench'
  }
}

/** Connect with the fail-fast options; resolves even if Redis is down (the cache degrades). */
export async function connectRedis(url: string, opts: Parameters<typeof failFastRedisOptions>[0] = {}, logger?: Logger): Promise<Redis> {
  const redis = new Redis(url, failFastRedisOptions(opts))
  // Without a listener an 'error' event would crash the process; failures surface per command.
  let lastLogMs = 0
  redis.on('error', (err: Error) => {
    const now = Date.now()
    if (now - lastLogMs > 10_000) {
      lastLogMs = now
      logger?.warn({ err: err.message }, 'redis connection error; cache reads fall through to the store')
    }
  })
  try {
    await redis.connect()
  } catch (err) {
    logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'redis unavailable at start; will keep reconnecting')
  }
  return redis
}

const encode = (s: TokenState): string => `${s.revoked ? 1 : 0}${s.used ? 1 : 0}`
const decode = (v: string): TokenState => ({ revoked: v[0] === '1', used: v[1] === '1' })
const REVOKED: TokenState = Object.freeze({ revoked: true, used: true })

export class RedisTokenCache implements TokenCache {
  readonly kind: 'redis' | 'tiered'
  private readonly local: LruTokenCache | null
  private readonly prefix: string
  private readonly maxTtlMs: number
  private readonly maxEntries: number
  private readonly inflight = new Map<string, Promise<TokenState | undefined>>()
  private hits = 0
  private misses = 0
  private errors = 0
  /** Revocations Redis did not take (tokenId → expiry ms), written again when it returns. */
  private readonly unsynced = new Map<string, number>()
  /**
   * Set by any Redis failure, cleared once Redis answers again and `unsynced` is replayed. While
   * set, reads skip Redis: entries written before the outage may predate a revocation it missed.
   */
  private degraded = false

  constructor(
    readonly redis: Redis,
    options: Omit<RedisCacheOptions, 'url'>
  ) {
    this.kind = options.kind
    this.local = options.kind === 'tiered' ? new LruTokenCache({ maxEntries: options.maxEntries }) : null
    this.prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX
    this.maxTtlMs = options.maxTtlMs
    this.maxEntries = options.maxEntries
    redis.on('ready', () => void this.resync())
  }

  private fail(): void {
    this.errors++
    this.degraded = true
  }

  /** The replay in progress, so that every read of a degraded cache shares one (see resync). */
  private resyncing: Promise<void> | null = null

  /**
   * Writes the revocations Redis missed, then trusts Redis again. One replay at a time, in one
   * pipeline: a degraded cache calls this from every read, and at a thousand validations a second a
   * replay each (one round trip per missed revocation) would flood the Redis that just came back
   * with copies of the same writes, time them out, and keep the cache degraded.
   */
  private resync(): Promise<void> {
    this.resyncing ??= this.replay().finally(() => {
      this.resyncing = null
    })
    return this.resyncing
  }

  private async replay(): Promise<void> {
    try {
      const now = Date.now()
      const batch = [...this.unsynced]
      const live = batch.filter(([, expiresAtMs]) => expiresAtMs > now)
      if (live.length > 0) {
        const pipeline = this.redis.pipeline()
        for (const [tokenId, expiresAtMs] of live) pipeline.set(this.key(tokenId), encode(REVOKED), 'PX', this.ttl(expiresAtMs - now))
        const results = await pipeline.exec()
        // Still failing: the next 'ready' (or read) retries, and nothing is forgotten meanwhile.
        if (results === null || results.some(([err]) => err !== null)) return
      }
      // Only what was written (or expired): a revocation that failed during the replay stays.
      for (const [tokenId, expiresAtMs] of batch) if (this.unsynced.get(tokenId) === expiresAtMs) this.unsynced.delete(tokenId)
      if (this.unsynced.size === 0) this.degraded = false
    } catch {
      // Still failing: as above.
    }
  }

  private key(tokenId: string): string {
    return `${this.prefix}tok:${tokenId}`
  }

  private ttl(ttlMs: number): number {
    return Math.max(1, Math.min(Math.floor(ttlMs), this.maxTtlMs))
  }

  async get(tokenId: string): Promise<TokenState | undefined> {
    if (this.unsynced.has(tokenId)) return REVOKED
    if (this.degraded) {
      // Probe in the background so the cache comes back even if 'ready' fired before a failure.
      if (this.redis.status === 'ready') void this.resync()
      this.errors++
      return undefined
    }
    if (this.local) {
      const hit = this.local.getSync(tokenId)
      if (hit && (hit.revoked || hit.used)) {
        this.hits++
        return hit
      }
    }
    // Single-flight: concurrent validations of one token share one Redis read, so a burst on one
    // hot token costs one round trip, not one per request.
    let p = this.inflight.get(tokenId)
    if (!p) {
      p = this.readRedis(tokenId).finally(() => this.inflight.delete(tokenId))
      this.inflight.set(tokenId, p)
    }
    return p
  }

  private async readRedis(tokenId: string): Promise<TokenState | undefined> {
    let v: string | null
    try {
      v = await this.redis.get(this.key(tokenId))
    } catch {
      // Fall through: the caller asks the store, which markRevoked's failure path made authoritative.
      this.fail()
      return undefined
    }
    if (v === null) {
      this.misses++
      return undefined
    }
    this.hits++
    const state = decode(v)
    if (this.local && (state.revoked || state.used)) {
      const pttl = await this.redis.pttl(this.key(tokenId)).catch(() => -1)
      this.local.setSync(tokenId, state, pttl > 0 ? pttl : this.maxTtlMs)
    }
    return state
  }

  async set(tokenId: string, state: TokenState, ttlMs: number): Promise<void> {
    const revoked = state.revoked || state.used
    if (revoked) this.local?.setSync(tokenId, state, this.ttl(ttlMs))
    try {
      // NX for a valid state: a late "valid" must never overwrite a revocation written meanwhile.
      if (revoked) await this.redis.set(this.key(tokenId), encode(state), 'PX', this.ttl(ttlMs))
      else await this.redis.set(this.key(tokenId), encode(state), 'PX', this.ttl(ttlMs), 'NX')
    } catch {
      // A cache fill is best-effort.
      this.fail()
    }
  }

  /**
   * Resolves only after Redis holds the revocation, which every instance reads before answering
   * "not revoked". Throws when Redis is unreachable so that the caller persists the revocation to
   * the store synchronously (the store is then the only authority every instance consults).
   */
  async markRevoked(tokenId: string, ttlMs: number): Promise<void> {
    this.local?.setSync(tokenId, REVOKED, this.ttl(ttlMs))
    try {
      await this.redis.set(this.key(tokenId), encode(REVOKED), 'PX', this.ttl(ttlMs))
    } catch (err) {
      this.fail()
      this.unsynced.set(tokenId, Date.now() + ttlMs)
      throw new DependencyError('AUTH_ERR_CACHE', `redis markRevoked failed: ${err instanceof Error ? err.message : String(err)}`, err)
    }
  }

  /** SET NX PX: exactly one caller across instances gets true; null when Redis cannot answer. */
  async claimOtt(tokenId: string, ttlMs: number): Promise<boolean | null> {
    try {
      const res = await this.redis.set(`${this.prefix}ott:${tokenId}`, '1', 'PX', this.ttl(ttlMs), 'NX')
      return res === 'OK'
    } catch {
      this.fail()
      return null
    }
  }

  stats(): CacheStats {
    const local = this.local?.stats()
    return {
      kind: this.kind,
      entries: local?.entries ?? 0,
      maxEntries: this.maxEntries,
      hits: this.hits,
      misses: this.misses,
      evictions: local?.evictions ?? 0,
      errors: this.errors
    }
  }

  async ping(): Promise<void> {
    try {
      await this.redis.ping()
    } catch (err) {
      throw new DependencyError('AUTH_ERR_CACHE', `redis ping failed: ${err instanceof Error ? err.message : String(err)}`, err)
    }
  }

  async close(): Promise<void> {
    await this.local?.close()
    if (this.redis.status === 'end') return
    await this.redis.quit().catch(() => this.redis.disconnect())
  }
}

export async function createRedisCache(config: Config, logger: Logger, overrides: Partial<RedisCacheOptions> = {}): Promise<TokenCache> {
  const url = overrides.url ?? config.redisUrl
  if (!url) throw new DependencyError('AUTH_ERR_CACHE', 'REDIS_URL is required for the redis cache')
  const kind = overrides.kind ?? (config.cache === 'tiered' ? 'tiered' : 'redis')
  const redis = await connectRedis(
    url,
    { commandTimeoutMs: overrides.commandTimeoutMs, connectTimeoutMs: overrides.connectTimeoutMs, name: `authbench-cache-${randomBytes(3).toString('hex')}` },
    logger
  )
  return new RedisTokenCache(redis, {
    kind,
    maxEntries: overrides.maxEntries ?? config.cacheMaxEntries,
    maxTtlMs: overrides.maxTtlMs ?? config.cacheTtlMs,
    ...(overrides.keyPrefix ? { keyPrefix: overrides.keyPrefix } : {}),
    logger
  })
}

/** The prefix of every key the target writes to Redis, unless a cache is given another. */
export const DEFAULT_KEY_PREFIX = 'authbench:'

/**
 * Delete the target's keys from the Redis database at `url` (SCAN in bounded steps, never FLUSHDB:
 * the database may hold other data). For benchmarks and tests that reuse a database.
 */
export async function deleteTargetKeys(url: string, prefix = DEFAULT_KEY_PREFIX): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await r.connect()
    let cursor = '0'
    for (let i = 0; i < 100_000; i++) {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await r.del(...keys)
      cursor = next
      if (cursor === '0') break
    }
  } finally {
    r.disconnect()
  }
}
