// The distributed sweeper lock: with several instances, the one that takes the lock
// runs the sweep tick and the others skip it. Redlock (a maintained implementation of the Redis
// lock algorithm) holds the key for `sweeperLockTtlMs` and extends it while the sweep runs, so a
// long sweep keeps the lock and a crashed holder frees it within one TTL.
import { ExecutionError, Redlock, ResourceLockedError } from '@sesamecare-oss/redlock'
import type { Redis } from 'ioredis'
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import type { SweepLock } from '../domain.ts'
import { DependencyError } from '../errors.ts'
import { connectRedis } from './redis.ts'

export interface RedisSweepLockOptions {
  ttlMs: number
  /** The lock's key; instances that should exclude each other share it. */
  resource?: string
  logger?: Logger
  /** Close the Redis connection on close() (true when this module opened it). */
  ownsConnection?: boolean
}

/**
 * Extend when half the TTL is left, the usual margin; redlock requires the threshold to be at
 * least 100 ms below the TTL.
 */
export function extensionThresholdMs(ttlMs: number): number {
  return Math.max(0, Math.min(Math.floor(ttlMs / 2), ttlMs - 100))
}

export class RedisSweepLock implements SweepLock {
  private readonly redlock: Redlock
  private readonly resource: string
  private readonly ttlMs: number

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisSweepLockOptions
  ) {
    this.ttlMs = Math.floor(options.ttlMs)
    this.resource = options.resource ?? 'authbench:lock:sweeper'
    // retryCount 0: an instance that loses the race skips this tick rather than queueing behind it.
    // db: redlock's scripts SELECT their own database (0 unless told), so without it the lock would
    // live in db 0 whatever database REDIS_URL names, shared by every deployment on that server.
    this.redlock = new Redlock([redis], { retryCount: 0, automaticExtensionThreshold: extensionThresholdMs(this.ttlMs), db: redis.options.db ?? 0 })
    // Extension failures also reach the routine through its AbortSignal; this only keeps them quiet.
    this.redlock.on('error', () => {})
  }

  /** Open a dedicated connection to config.redisUrl; the lock closes it on close(). */
  static async connect(config: Config, logger: Logger, overrides: { url?: string; resource?: string } = {}): Promise<RedisSweepLock> {
    const url = overrides.url ?? config.redisUrl
    if (!url) throw new DependencyError('AUTH_ERR_CACHE', 'REDIS_URL is required for the redis sweeper lock')
    const redis = await connectRedis(url, { name: 'authbench-sweep-lock' }, logger)
    return new RedisSweepLock(redis, { ttlMs: config.sweeperLockTtlMs, logger, ownsConnection: true, ...(overrides.resource ? { resource: overrides.resource } : {}) })
  }

  async runExclusive(fn: (signal: AbortSignal) => Promise<void>): Promise<boolean> {
    let acquired = false
    try {
      await this.redlock.using([this.resource], this.ttlMs, async (signal) => {
        acquired = true
        await fn(signal)
      })
      return true
    } catch (err) {
      if (acquired) throw err
      // Held elsewhere, or Redis unreachable: either way nobody can prove exclusivity, so skip the
      // tick. Deletes of expired rows are idempotent, so a skipped tick only delays the cleanup.
      if (!(err instanceof ExecutionError || err instanceof ResourceLockedError)) {
        this.options.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'sweeper lock unavailable; skipping tick')
      }
      return false
    }
  }

  async close(): Promise<void> {
    if (this.options.ownsConnection && this.redis.status !== 'end') await this.redis.quit().catch(() => this.redis.disconnect())
  }
}

export function createRedisSweepLock(config: Config, logger: Logger, overrides: { url?: string; resource?: string } = {}): Promise<RedisSweepLock> {
  return RedisSweepLock.connect(config, logger, overrides)
}
