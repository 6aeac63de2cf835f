// The distributed sweeper lock against a real Redis: two instances race for one tick and exactly
// one runs; a sweep longer than the TTL keeps the lock (auto-extension); a free lock is taken again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { RedisSweepLock, extensionThresholdMs } from '../../../target/cache/redis-lock.ts'
import { LocalSweepLock } from '../../../target/stores/memory-lock.ts'
import { redisUrl, uniqueName } from '../../helpers/services.ts'

const url = await redisUrl('the Redlock sweeper lock tests')
import { sleep, waitFor } from '../../helpers/time.ts'

describe('LocalSweepLock', () => {
  it('runs a tick, skips an overlapping one, and stops after close', async () => {
    const lock = new LocalSweepLock()
    let runs = 0
    const slow = lock.runExclusive(async () => {
      runs++
      await sleep(50)
    })
    expect(await lock.runExclusive(async () => void runs++)).toBe(false)
    expect(await slow).toBe(true)
    expect(runs).toBe(1)
    await lock.close()
    expect(await lock.runExclusive(async () => void runs++)).toBe(false)
  })
})

/**
 * Resolves true once the lock's key in Redis has had its expiry pushed back `times` times (each one
 * a redlock extension: its remaining TTL goes up), false if the key expires or the deadline passes.
 */
async function lockExtensions(redis: Redis, resource: string, times: number, timeoutMs = 5_000): Promise<boolean> {
  let seen = 0
  let lost = false
  let last = await redis.pttl(resource)
  const done = await waitFor(
    async () => {
      const pttl = await redis.pttl(resource)
      lost = pttl < 0
      if (pttl > last) seen++
      last = pttl
      return lost || seen >= times
    },
    timeoutMs,
    5
  )
  return done && !lost
}

describe.skipIf(!url)('RedisSweepLock (redlock)', () => {
  const resource = `${uniqueName('locktest')}:sweeper`
  let r1: Redis
  let r2: Redis

  beforeAll(() => {
    r1 = new Redis(url!)
    r2 = new Redis(url!)
  })
  afterAll(async () => {
    await r1.del(resource)
    await Promise.all([r1.quit(), r2.quit()])
  })

  it('keeps the extension threshold at least 100 ms under the TTL', () => {
    expect(extensionThresholdMs(30_000)).toBe(15_000)
    expect(extensionThresholdMs(250)).toBe(125)
    expect(extensionThresholdMs(100)).toBe(0)
  })

  it('lets exactly one of two instances run a tick', async () => {
    const a = new RedisSweepLock(r1, { ttlMs: 1_000, resource })
    const b = new RedisSweepLock(r2, { ttlMs: 1_000, resource })
    let runs = 0
    const tick = async () => {
      runs++
      await sleep(150)
    }
    const results = await Promise.all([a.runExclusive(tick), b.runExclusive(tick)])
    expect(results.filter(Boolean)).toHaveLength(1)
    expect(runs).toBe(1)
    // Released afterwards: the next tick runs.
    expect(await b.runExclusive(tick)).toBe(true)
  })

  it('extends the lock while a sweep outlives the TTL, so others keep skipping', async () => {
    const a = new RedisSweepLock(r1, { ttlMs: 300, resource })
    const b = new RedisSweepLock(r2, { ttlMs: 300, resource })
    let aborted = false
    let acquired!: () => void
    const holding = new Promise<void>((resolve) => {
      acquired = resolve
    })
    let finish!: () => void
    const finished = new Promise<void>((resolve) => {
      finish = resolve
    })
    // The sweep holds the lock until the test lets it finish.
    const long = a.runExclusive(async (signal) => {
      acquired()
      await finished
      aborted = signal.aborted
    })
    await holding
    try {
      // Extensions happen every TTL − threshold (150 ms): after three, the lock has outlived its
      // first TTL twice over, and it is still held. (Read through r2, in REDIS_URL's database: the
      // lock lives there, not in redlock's default db 0.)
      expect(await lockExtensions(r2, resource, 3)).toBe(true)
      expect(await b.runExclusive(async () => {})).toBe(false)
    } finally {
      finish()
    }
    expect(await long).toBe(true)
    expect(aborted).toBe(false)
  })

  it('propagates an error thrown by the sweep', async () => {
    const a = new RedisSweepLock(r1, { ttlMs: 1_000, resource })
    await expect(
      a.runExclusive(async () => {
        throw new Error('sweep failed')
      })
    ).rejects.toThrow('sweep failed')
  })
})
