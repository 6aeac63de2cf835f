// The sweeper: deletes expired tokens in batches with a pause between them, stops on a short
// batch, refuses a batch size ≤ 0, stops cleanly, and /debug/stats shows its last run.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { SweepLock, TokenRecord, TokenStore } from '../../target/domain.ts'
import { Sweeper, type SweeperOptions } from '../../target/services/sweeper.ts'
import { LocalSweepLock } from '../../target/stores/memory-lock.ts'
import { MemoryStore } from '../../target/stores/memory.ts'
import { closeAllApps, makeApp, waitFor } from './helpers.ts'

afterEach(closeAllApps)

const GRACE = 60_000

function record(i: number, expiresAtMs: number): TokenRecord {
  return {
    tokenId: i.toString(16).padStart(32, '0'),
    tokenHash: 'h',
    tokenType: 'N',
    clientId: 'c',
    scopes: [],
    issuedAtMs: expiresAtMs - 1000,
    expiresAtMs,
    revokedAtMs: null,
    usedAtMs: null
  }
}

async function seeded(expired: number, live: number): Promise<MemoryStore> {
  const store = new MemoryStore()
  const now = Date.now()
  const recs: TokenRecord[] = []
  for (let i = 0; i < expired; i++) recs.push(record(i, now - GRACE - 1_000 - i))
  // expired, but within the grace period: kept
  for (let i = 0; i < live; i++) recs.push(record(expired + i, i % 2 === 0 ? now + 3_600_000 : now - GRACE / 2))
  await store.insertTokens(recs)
  return store
}

/** A store whose deleteExpiredBatch answers from a script and records when it was called. */
function scripted(results: number[] | (() => number)): TokenStore & { calls: Array<{ at: number; limit: number }> } {
  const calls: Array<{ at: number; limit: number }> = []
  const next = typeof results === 'function' ? results : () => results.shift() ?? 0
  return Object.assign(new MemoryStore(), {
    calls,
    async deleteExpiredBatch(_before: number, limit: number) {
      calls.push({ at: performance.now(), limit })
      return next()
    }
  })
}

const opts = (o: Partial<SweeperOptions> = {}): SweeperOptions => ({ intervalMs: 0, batchSize: 10, pauseMs: 1, graceMs: GRACE, ...o })

describe('Sweeper', () => {
  it('deletes every expired token in batches and keeps the rest', async () => {
    const store = await seeded(25, 6)
    const sweeper = new Sweeper(store, new LocalSweepLock(), opts({ batchSize: 10 }))
    const run = await sweeper.runOnce()
    expect(run).toMatchObject({ deleted: 25, batches: 3, skipped: false, error: null })
    expect(await store.countTokens()).toBe(6)
    // a second run finds nothing: one short batch
    expect(await sweeper.runOnce()).toMatchObject({ deleted: 0, batches: 1 })
    expect(sweeper.stats()).toMatchObject({ runs: 2, deletedTotal: 25 })
  })

  it('pauses between batches and stops on the first short batch', async () => {
    const store = scripted([5, 5, 5, 2, 5, 5])
    const sweeper = new Sweeper(store, new LocalSweepLock(), opts({ batchSize: 5, pauseMs: 40 }))
    const run = await sweeper.runOnce()
    expect(run).toMatchObject({ deleted: 17, batches: 4 })
    expect(store.calls.map((c) => c.limit)).toEqual([5, 5, 5, 5])
    for (let i = 1; i < store.calls.length; i++) {
      expect(store.calls[i]!.at - store.calls[i - 1]!.at).toBeGreaterThanOrEqual(35)
    }
    expect(run.durationMs).toBeGreaterThanOrEqual(3 * 35)
  })

  it('an exactly-full last batch costs one more (empty) batch, not an endless loop', async () => {
    const store = await seeded(20, 0)
    const run = await new Sweeper(store, new LocalSweepLock(), opts({ batchSize: 10 })).runOnce()
    expect(run).toMatchObject({ deleted: 20, batches: 3 })
  })

  it.each([0, -1, 1.5, Number.NaN])('refuses batch size %s', (batchSize) => {
    expect(() => new Sweeper(new MemoryStore(), new LocalSweepLock(), opts({ batchSize }))).toThrow(RangeError)
  })

  it('the store refuses a batch size ≤ 0 too', async () => {
    await expect(new MemoryStore().deleteExpiredBatch(Date.now(), 0)).rejects.toThrow(RangeError)
  })

  it('stop() ends a sweep in its pause and no batch runs afterwards', async () => {
    vi.useFakeTimers()
    try {
      const store = scripted(() => 10)
      const sweeper = new Sweeper(store, new LocalSweepLock(), opts({ batchSize: 10, pauseMs: 10_000 }))
      const running = sweeper.runOnce()
      await vi.waitFor(() => expect(store.calls).toHaveLength(1))
      // No fake time passes: stop() resolves by cutting the 10 s pause short, not by waiting it out.
      await sweeper.stop()
      const run = await running
      expect(run.batches).toBe(1)
      await vi.advanceTimersByTimeAsync(60_000)
      expect(store.calls).toHaveLength(1)
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('runs on its interval after start() and not after stop()', async () => {
    vi.useFakeTimers()
    try {
      const store = scripted(() => 0)
      const sweeper = new Sweeper(store, new LocalSweepLock(), opts({ intervalMs: 15 }))
      sweeper.start()
      await vi.advanceTimersByTimeAsync(45)
      expect(store.calls).toHaveLength(3)
      await sweeper.stop()
      await vi.advanceTimersByTimeAsync(86_400_000)
      expect(store.calls).toHaveLength(3)
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('interval 0 never runs: a day of fake time passes, and it schedules nothing (a 15 ms one, beside it, runs)', async () => {
    vi.useFakeTimers()
    try {
      const off = scripted(() => 0)
      const on = scripted(() => 0)
      const offSweeper = new Sweeper(off, new LocalSweepLock(), opts({ intervalMs: 0 }))
      const onSweeper = new Sweeper(on, new LocalSweepLock(), opts({ intervalMs: 15 }))
      offSweeper.start()
      onSweeper.start()
      await vi.advanceTimersByTimeAsync(100)
      await onSweeper.stop()
      expect(on.calls.length).toBeGreaterThan(0)
      await vi.advanceTimersByTimeAsync(86_400_000)
      expect(off.calls).toHaveLength(0)
      expect(vi.getTimerCount()).toBe(0)
      await offSweeper.stop()
    } finally {
      vi.useRealTimers()
    }
  })

  it('a store error is recorded in the run, not thrown', async () => {
    const store = Object.assign(new MemoryStore(), {
      async deleteExpiredBatch(): Promise<number> {
        throw new Error('db down')
      }
    })
    const run = await new Sweeper(store, new LocalSweepLock(), opts()).runOnce()
    expect(run).toMatchObject({ error: 'db down', deleted: 0 })
  })

  it('a tick another instance holds the lock for is skipped', async () => {
    const store = scripted(() => 0)
    const held: SweepLock = { runExclusive: async () => false, close: async () => {} }
    const sweeper = new Sweeper(store, held, opts())
    expect(await sweeper.runOnce()).toMatchObject({ skipped: true, batches: 0 })
    expect(store.calls).toHaveLength(0)
    expect(sweeper.stats().skippedTotal).toBe(1)
  })

  it('concurrent runOnce calls share one run', async () => {
    const store = scripted([10, 3])
    const sweeper = new Sweeper(store, new LocalSweepLock(), opts({ pauseMs: 5 }))
    const [a, b] = await Promise.all([sweeper.runOnce(), sweeper.runOnce()])
    expect(a).toBe(b)
    expect(store.calls).toHaveLength(2)
  })
})

describe('the sweeper in the app', () => {
  it('/debug/stats shows the last run and how many rows it removed', async () => {
    const store = await seeded(7, 2)
    const app = await makeApp({ SWEEPER_BATCH_SIZE: '3', SWEEPER_PAUSE_MS: '1' }, { store })
    const before = (await app.inject({ method: 'GET', url: '/debug/stats' })).json() as { sweeper: { lastRun: unknown; runs: number } }
    expect(before.sweeper).toMatchObject({ lastRun: null, runs: 0 })
    await app.auth.sweeper.runOnce()
    const after = (await app.inject({ method: 'GET', url: '/debug/stats' })).json() as { sweeper: Record<string, unknown> }
    expect(after.sweeper).toMatchObject({ runs: 1, deletedTotal: 7, batchSize: 3, lastRun: { deleted: 7, batches: 3, skipped: false, error: null } })
    expect((after.sweeper.lastRun as { startedAt: string }).startedAt).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(await store.countTokens()).toBe(2)
  })

  it('SWEEPER_INTERVAL_MS runs it on its own, and close() stops it', async () => {
    // Only intervals are faked (the sweeper ticks on one); everything else in the app keeps real time.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    try {
      const store = await seeded(4, 1)
      const app = await makeApp({ SWEEPER_INTERVAL_MS: '20' }, { store })
      expect(app.auth.sweeper.stats().runs).toBe(0)
      await vi.advanceTimersByTimeAsync(20)
      expect(
        await waitFor(async () => ((await app.inject({ method: 'GET', url: '/debug/stats' })).json() as { sweeper: { deletedTotal: number } }).sweeper.deletedTotal === 4, 3_000)
      ).toBe(true)
      await app.close()
      const runs = app.auth.sweeper.stats().runs
      await vi.advanceTimersByTimeAsync(86_400_000)
      expect(app.auth.sweeper.stats().runs).toBe(runs)
    } finally {
      vi.useRealTimers()
    }
  })
})
