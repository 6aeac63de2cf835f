// Two target processes on different ports sharing one PostgreSQL schema and one Redis database:
// the guarantees of the reference-target issue must hold across them, not only inside one.
//   (a) an OTT validates exactly once, whichever instance each of 120 concurrent validates hits;
//   (b) a revoke on one instance is seen by the very next validate on the other, for the tiered
//       cache (after the other has cached the token as valid), plain redis, and phase3's pool;
//   (c) the sweeper: no two instances sweep at once, the lock is contended, rows go exactly once;
//   (d) a token is valid before its batch is flushed, SIGTERM persists every pending token and
//       revocation (counted in SQL after exit), revoke-then-validate never passes;
//   (e) Redis cut mid-test (a TCP proxy in front of it): answers stay right, and the cache recovers.
// Real PostgreSQL and Redis: skipped when they are missing, a failure under CI=true.
import type { SweepRun, Sweeper } from '../../../target/services/sweeper.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import type pg from 'pg'
import type { TargetProcess } from '../../../harness/engine/target-process.ts'
import { postgresUrl, redisUrl, uniqueName } from '../../helpers/services.ts'
import {
  BASE,
  RedisProxy,
  call,
  clearRedisDb,
  closeDispatcher,
  debugStats,
  issue,
  metricSum,
  metrics,
  openSchema,
  redisDbUrl,
  revoke,
  schemaUrl,
  sleep,
  startInstance,
  tokenId,
  validate,
  waitFor
} from './helpers.ts'
import type { Reply } from './helpers.ts'

const pgBase = await postgresUrl('the two-instance tests')
const redisBase = await redisUrl('the two-instance tests')
/** This file's Redis database (cluster-smoke uses 11; the other suites 15). */
const REDIS_DB = 12

// Long OTT and token lifetimes: nothing these tests issue may expire (and become sweepable) while
// the file runs, so the sweeper test can count the rows it inserted exactly.
const COMMON = { OTT_TTL_S: '3600', TOKEN_TTL_S: '3600', SWEEPER_INTERVAL_MS: '0' }

interface Variant {
  name: string
  env: Record<string, string>
}

const VARIANTS: Variant[] = [
  { name: 'phase2, tiered cache (LRU in front of Redis)', env: { PRESET: 'phase2' } },
  { name: 'phase2, redis cache', env: { PRESET: 'phase2', CACHE: 'redis' } },
  // phase3's own instance count stays (2 on postgres + redis): each "instance" is a node:cluster
  // primary with two workers, so A and B are four workers revoking through their pools.
  { name: 'phase3, tiered cache, revocation pool of 4, each process a cluster of 2', env: { PRESET: 'phase3' } }
]

/** The sweeper's part of /debug/stats, as JSON. */
type SweeperStats = ReturnType<Sweeper['stats']>

describe.skipIf(!pgBase || !redisBase)('two target processes sharing PostgreSQL and Redis', () => {
  const schema = uniqueName('mi_two')
  const redis = redisDbUrl(redisBase ?? 'redis://127.0.0.1:6379/15', REDIS_DB)
  let databaseUrl = ''
  let sql: pg.Pool
  let dropSchema: () => Promise<void> = async () => {}

  beforeAll(async () => {
    const opened = await openSchema(pgBase!, schema)
    sql = opened.sql
    dropSchema = opened.drop
    databaseUrl = schemaUrl(pgBase!, schema)
    await clearRedisDb(redis)
  })

  afterAll(async () => {
    await dropSchema()
    await clearRedisDb(redis).catch(() => {})
    await closeDispatcher()
  })

  async function startPair(env: Record<string, string>): Promise<[TargetProcess, TargetProcess]> {
    const full = { DATABASE_URL: databaseUrl, REDIS_URL: redis, ...COMMON, ...env }
    const started = await Promise.allSettled([startInstance(full), startInstance(full)])
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
    if (ok.length < 2) {
      await Promise.all(ok.map((t) => t.stop()))
      const failed = started.find((s) => s.status === 'rejected') as PromiseRejectedResult
      throw failed.reason
    }
    return [ok[0]!, ok[1]!]
  }

  async function countRows(ids: readonly string[], where = 'true'): Promise<number> {
    const { rows } = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM tokens WHERE token_id = ANY($1) AND ${where}`, [ids])
    return rows[0]?.n ?? 0
  }

  /**
   * Validates go out every `gapMs`, alternating over `validators`, while `revoker` revokes. The
   * statuses of those sent after the revoke's response arrived must all be 401.
   */
  async function raceRevoke(revoker: string, validators: readonly string[], jwt: string, afterCount = 15, gapMs = 2): Promise<{ before: number[]; after: number[] }> {
    let answered = false
    const revoking = revoke(revoker, jwt).then((r) => {
      answered = true
      return r
    })
    const sent: Array<{ after: boolean; res: Promise<Reply> }> = []
    let after = 0
    for (let i = 0; after < afterCount && i < 20_000; i++) {
      const isAfter = answered
      sent.push({ after: isAfter, res: validate(validators[i % validators.length]!, jwt) })
      if (isAfter) after++
      await sleep(gapMs)
    }
    expect((await revoking).status).toBe(200)
    const all = await Promise.all(sent.map(async (s) => ({ after: s.after, status: (await s.res).status })))
    return { before: all.filter((s) => !s.after).map((s) => s.status), after: all.filter((s) => s.after).map((s) => s.status) }
  }

  describe.each(VARIANTS)('$name', ({ env }) => {
    let a: TargetProcess
    let b: TargetProcess

    beforeAll(async () => {
      ;[a, b] = await startPair(env)
    }, 180_000)

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()])
    }, 60_000)

    it('(a) one OTT, 120 concurrent validates split across A and B: exactly one 200, repeated for 5 OTTs', async () => {
      const ids: string[] = []
      for (let round = 0; round < 5; round++) {
        const ott = await issue(round % 2 === 0 ? a.url : b.url, 'ott')
        ids.push(tokenId(ott))
        const statuses = (await Promise.all(Array.from({ length: 120 }, (_, i) => validate(i % 2 === 0 ? a.url : b.url, ott)))).map((r) => r.status)
        expect(
          statuses.filter((s) => s === 200),
          `round ${round}`
        ).toHaveLength(1)
        expect(
          statuses.filter((s) => s === 401),
          `round ${round}: ${JSON.stringify(statuses.filter((s) => s !== 200 && s !== 401))}`
        ).toHaveLength(119)
        // And it stays used, on both.
        expect((await validate(a.url, ott)).status).toBe(401)
        expect((await validate(b.url, ott)).status).toBe(401)
      }
      // The consumption reaches PostgreSQL (on the request path, or through phase3's pool).
      expect(await waitFor(async () => (await countRows(ids, 'used_at IS NOT NULL')) === ids.length, 15_000, 100)).toBe(true)
    }, 120_000)

    it('(a) 20 distinct OTTs, each validated on A and on B at once: each passes exactly once', async () => {
      const otts = await Promise.all(Array.from({ length: 20 }, (_, i) => issue(i % 2 === 0 ? a.url : b.url, 'ott')))
      const results = await Promise.all(
        otts.map(async (ott) => {
          const [ra, rb] = await Promise.all([validate(a.url, ott), validate(b.url, ott)])
          return [ra.status, rb.status].sort()
        })
      )
      for (const r of results) expect(r).toEqual([200, 401])
    }, 60_000)

    it('(b) revoke on one instance: the next validate on the other, sent after the revoke answered, is 401 (40 tokens, B cached them as valid first)', async () => {
      const hitsBefore = metricSum(await metrics(b.url), 'authbench_cache_hits_total') + metricSum(await metrics(a.url), 'authbench_cache_hits_total')
      for (let i = 0; i < 40; i++) {
        // Alternate which instance revokes, so both directions are covered.
        const [revoker, other] = i % 2 === 0 ? [a, b] : [b, a]
        const jwt = await issue(revoker.url)
        // The other instance validates twice: the first fills the shared cache with "valid", the
        // second is answered from it, so the revoke has a cached "valid" to beat.
        expect((await validate(other.url, jwt)).status).toBe(200)
        expect((await validate(other.url, jwt)).status).toBe(200)
        expect((await revoke(revoker.url, jwt)).status).toBe(200)
        const next = await validate(other.url, jwt)
        expect(next.status, `token ${i}: ${next.body}`).toBe(401)
        expect((JSON.parse(next.body) as { error: string }).error).toBe('invalid_token')
        expect((await validate(revoker.url, jwt)).status).toBe(401)
      }
      const hitsAfter = metricSum(await metrics(b.url), 'authbench_cache_hits_total') + metricSum(await metrics(a.url), 'authbench_cache_hits_total')
      // The "valid" entries were really served from the cache, so the revocation had one to beat.
      expect(hitsAfter - hitsBefore).toBeGreaterThanOrEqual(40)
    }, 120_000)

    it('(b, d) validates on A and B racing a revoke on A: none sent after its response passes (12 tokens)', async () => {
      let before = 0
      for (let round = 0; round < 12; round++) {
        const jwt = await issue(a.url)
        if (round % 2 === 0) expect((await validate(b.url, jwt)).status).toBe(200)
        const r = await raceRevoke(a.url, [b.url, a.url], jwt)
        before += r.before.length
        expect(
          r.after.filter((s) => s !== 401),
          `round ${round}`
        ).toEqual([])
        // Before the response either answer is allowed, but nothing else.
        expect(
          r.before.filter((s) => s !== 200 && s !== 401),
          `round ${round}`
        ).toEqual([])
      }
      // The race was real: some validates were in flight while the revoke was.
      expect(before).toBeGreaterThan(0)
      // Every revocation is durable once the pool (phase3) drained.
    }, 120_000)
  })

  describe('(c) the sweeper with two instances', () => {
    let a: TargetProcess
    let b: TargetProcess
    // A sweep of 15 batches of 200 with 100 ms pauses lasts ~1.5 s: several of the other
    // instance's 400 ms ticks fall inside it, and the 1 s lock TTL has to be extended (redlock) to
    // cover it.
    const SWEEP_ENV = { PRESET: 'phase2', SWEEPER_INTERVAL_MS: '400', SWEEPER_BATCH_SIZE: '200', SWEEPER_PAUSE_MS: '100', SWEEPER_LOCK_TTL_MS: '1000' }
    const ROWS = 3000

    beforeAll(async () => {
      ;[a, b] = await startPair(SWEEP_ENV)
    }, 180_000)

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()])
    }, 60_000)

    async function insertExpired(prefix: string): Promise<void> {
      // Expired two hours ago: well past the sweeper's 60 s grace.
      await sql.query(
        `INSERT INTO tokens (token_id, token_hash, token_type, client_id, scopes, issued_at, expires_at)
        SELECT $1 || i, md5(i::text), 'N', 'test-client', '{read:ltp}', now() - interval '3 hours', now() - interval '2 hours'
        FROM generate_series(1, $2::int) AS i`,
        [prefix, ROWS]
      )
    }

    const countPrefix = async (prefix: string): Promise<number> =>
      (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM tokens WHERE token_id LIKE $1', [`${prefix}%`])).rows[0]?.n ?? 0

    it('no two instances sweep at once, the lock is contended, and every expired row is deleted exactly once', async () => {
      const sweepable = await sql.query<{ n: number }>("SELECT count(*)::int AS n FROM tokens WHERE expires_at < now() - interval '1 minute'")
      expect(sweepable.rows[0]?.n).toBe(0)
      // Both timers are running (they started at different moments: the ticks are out of step).
      expect(
        await waitFor(
          async () => (await debugStats<{ sweeper: SweeperStats }>(a.url)).sweeper.runs > 0 && (await debugStats<{ sweeper: SweeperStats }>(b.url)).sweeper.runs > 0,
          10_000,
          100
        )
      ).toBe(true)
      const base = {
        a: (await debugStats<{ sweeper: SweeperStats }>(a.url)).sweeper,
        b: (await debugStats<{ sweeper: SweeperStats }>(b.url)).sweeper
      }

      for (const prefix of ['mi-sweep1-', 'mi-sweep2-']) {
        await insertExpired(prefix)
        expect(await waitFor(async () => (await countPrefix(prefix)) === 0, 60_000, 50)).toBe(true)
        // A few more ticks on each side after the table is clean.
        await sleep(1_200)
      }
      // A sweep's counters are added when its run ends: on a loaded machine the last run can still
      // be pausing between batches when the table is already clean. Wait for the counters, then
      // judge them (a double deletion would overshoot, a foreign deleter would never get there).
      const deletedSince = async (): Promise<number> => {
        const [sa, sb] = [(await debugStats<{ sweeper: SweeperStats }>(a.url)).sweeper, (await debugStats<{ sweeper: SweeperStats }>(b.url)).sweeper]
        return sa.deletedTotal - base.a.deletedTotal + (sb.deletedTotal - base.b.deletedTotal)
      }
      await waitFor(async () => (await deletedSince()) >= 2 * ROWS, 20_000, 100)

      const end = {
        a: (await debugStats<{ sweeper: SweeperStats }>(a.url)).sweeper,
        b: (await debugStats<{ sweeper: SweeperStats }>(b.url)).sweeper
      }
      const deleted = end.a.deletedTotal - base.a.deletedTotal + (end.b.deletedTotal - base.b.deletedTotal)
      const skipped = end.a.skippedTotal - base.a.skippedTotal + (end.b.skippedTotal - base.b.skippedTotal)
      // Deleted exactly once: the counters of both add up to what was inserted, no more.
      expect(deleted).toBe(2 * ROWS)
      // The lock was contended: some ticks found it held and skipped.
      expect(skipped).toBeGreaterThan(0)
      // The Prometheus counters say the same as /debug/stats.
      for (const [t, s] of [
        [a, end.a],
        [b, end.b]
      ] as const) {
        const text = await metrics(t.url)
        expect(metricSum(text, 'authbench_sweeper_runs_total')).toBeGreaterThanOrEqual(s.runs)
        expect(metricSum(text, 'authbench_sweeper_skipped_total')).toBeGreaterThanOrEqual(s.skippedTotal)
        expect(metricSum(text, 'authbench_sweeper_deleted_total')).toBe(s.deletedTotal)
      }

      // Every run since the base reading, from each instance's own record of its recent runs (a
      // poller of lastRun misses runs when the machine is loaded).
      const since = (s: SweeperStats, from: SweeperStats) => s.recentRuns.filter((r) => r.startedAt > (from.lastRun?.startedAt ?? ''))
      const seen = { a: new Map(since(end.a, base.a).map((r) => [r.startedAt, r])), b: new Map(since(end.b, base.b).map((r) => [r.startedAt, r])) }
      expect(end.a.runs - base.a.runs).toBe(seen.a.size)
      expect(end.b.runs - base.b.runs).toBe(seen.b.size)
      const runs = (m: Map<string, SweepRun>) => [...m.values()].filter((r) => r.error === null)
      const swept = { a: runs(seen.a).filter((r) => !r.skipped), b: runs(seen.b).filter((r) => !r.skipped) }
      // The runs that deleted something add up to what was inserted.
      const seenDeleted = [...swept.a, ...swept.b].reduce((n, r) => n + r.deleted, 0)
      expect(seenDeleted).toBe(2 * ROWS)
      for (const r of [...seen.a.values(), ...seen.b.values()]) expect(r.error).toBeNull()

      // What the design guarantees: two instances' sweeps (lock held) never overlap in time. A
      // run's recorded window [start, start + duration] contains its lock hold; the two windows may
      // touch by the few ms between one instance's DEL of the key and the other's SET NX taking it
      // (the later start is stamped before its acquire, the earlier end after its release).
      // Out-of-step timers mean one instance may sweep (finding nothing) right after the other's
      // sweep ended on a tick of its own: "one sweep per tick" is per lock hold, not per wall tick.
      const SLACK_MS = 50
      const window = (r: SweepRun) => [Date.parse(r.startedAt), Date.parse(r.startedAt) + r.durationMs] as const
      for (const x of swept.a) {
        for (const y of swept.b) {
          const [x0, x1] = window(x)
          const [y0, y1] = window(y)
          const overlap = Math.min(x1, y1) - Math.max(x0, y0)
          expect(overlap, `A ${x.startedAt}+${x.durationMs} vs B ${y.startedAt}+${y.durationMs}`).toBeLessThan(SLACK_MS)
        }
      }
      // And the skipped ticks are the ones that fell inside the other instance's sweep: proof that
      // it was the lock, not luck, that kept them apart.
      const longSweeps = { a: swept.a.filter((r) => r.deleted > 0), b: swept.b.filter((r) => r.deleted > 0) }
      const inside = (r: SweepRun, others: SweepRun[]) =>
        others.some((o) => {
          const [o0, o1] = window(o)
          const t = Date.parse(r.startedAt)
          return t >= o0 && t <= o1
        })
      const skippedInside =
        [...seen.a.values()].filter((r) => r.skipped && inside(r, longSweeps.b)).length + [...seen.b.values()].filter((r) => r.skipped && inside(r, longSweeps.a)).length
      expect(skippedInside).toBeGreaterThan(0)
    }, 150_000)
  })

  describe('(d) batching and shutdown on PostgreSQL + Redis', () => {
    const NEVER_FLUSH = { BATCH_SIZE: '10000', BATCH_FLUSH_INTERVAL_MS: '600000' }

    it('a token is valid on both instances before its batch is flushed; SIGTERM persists every pending token (counted in SQL after exit)', async () => {
      const [a, b] = await startPair({ PRESET: 'phase2', ...NEVER_FLUSH })
      try {
        const jwts = await Promise.all(Array.from({ length: 60 }, () => issue(a.url)))
        const otts = await Promise.all(Array.from({ length: 10 }, () => issue(a.url, 'ott')))
        const ids = [...jwts, ...otts].map(tokenId)
        expect(await countRows(ids)).toBe(0)
        for (const jwt of jwts.slice(0, 10)) {
          expect((await validate(a.url, jwt)).status).toBe(200)
          expect((await validate(b.url, jwt)).status).toBe(200)
        }
        // A revoke of a token still waiting in A's batch: the later flush must not undo it.
        const revokedEarly = jwts[0]!
        expect((await revoke(b.url, revokedEarly)).status).toBe(200)
        expect((await debugStats<{ batchWriter: { pending: number } }>(a.url)).batchWriter.pending).toBe(70)
        expect(await countRows(ids)).toBe(1)

        const exit = await a.stop()
        expect(exit, a.stderrTail()).toMatchObject({ code: 0 })
        expect(await countRows(ids)).toBe(70)
        expect(await countRows([tokenId(revokedEarly)], 'revoked_at IS NOT NULL')).toBe(1)
        // B still refuses the revoked one and accepts the others, now from the rows.
        expect((await validate(b.url, revokedEarly)).status).toBe(401)
        expect((await validate(b.url, jwts[1]!)).status).toBe(200)
      } finally {
        await Promise.all([a.stop(), b.stop()])
      }
    }, 180_000)

    it('phase3: revocations and OTT consumptions accepted by the pool are in PostgreSQL after SIGTERM', async () => {
      // One process per instance here so that SIGTERM reaches the process holding the pool.
      const [a, b] = await startPair({ PRESET: 'phase3', INSTANCES: '1', REVOCATION_WORKERS: '2', REVOCATION_BATCH_SIZE: '3', ...NEVER_FLUSH })
      try {
        const jwts = await Promise.all(Array.from({ length: 30 }, () => issue(b.url)))
        const otts = await Promise.all(Array.from({ length: 10 }, () => issue(b.url, 'ott')))
        expect((await Promise.all(jwts.map((j) => revoke(a.url, j)))).map((r) => r.status)).toEqual(jwts.map(() => 200))
        expect((await Promise.all(otts.map((o) => validate(a.url, o)))).map((r) => r.status)).toEqual(otts.map(() => 200))
        for (const j of jwts.slice(0, 5)) expect((await validate(b.url, j)).status).toBe(401)
        for (const o of otts.slice(0, 5)) expect((await validate(b.url, o)).status).toBe(401)
        const exitA = a.stop()
        const exitB = b.stop()
        expect(await exitA, a.stderrTail()).toMatchObject({ code: 0 })
        expect(await exitB, b.stderrTail()).toMatchObject({ code: 0 })
        // Rows exist (B flushed its issues at exit) and carry the state A's pool wrote, whichever
        // of the two reached the database first.
        expect(await countRows(jwts.map(tokenId), 'revoked_at IS NOT NULL')).toBe(30)
        expect(await countRows(otts.map(tokenId), 'used_at IS NOT NULL')).toBe(10)
      } finally {
        await Promise.all([a.stop(), b.stop()])
      }
    }, 180_000)
  })

  describe('(e) Redis cut mid-test (a TCP proxy between each target and Redis)', () => {
    const upstream = new URL(redis)
    const proxyA = new RedisProxy(upstream)
    const proxyB = new RedisProxy(upstream)
    let a: TargetProcess
    let b: TargetProcess

    beforeAll(async () => {
      await proxyA.start()
      await proxyB.start()
      const common = { DATABASE_URL: databaseUrl, ...COMMON, PRESET: 'phase2' }
      ;[a, b] = await Promise.all([startInstance({ ...common, REDIS_URL: proxyA.url() }), startInstance({ ...common, REDIS_URL: proxyB.url() })])
    }, 180_000)

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()])
      await proxyA.stop()
      await proxyB.stop()
    }, 60_000)

    const ready = async (t: TargetProcess) => (await call(t.url, 'GET', '/health/ready')).status === 200

    it('answers correctly while Redis is unreachable, and recovers when it returns', async () => {
      const live = await issue(a.url)
      const revokedBefore = await issue(a.url)
      const revokedDuring = await issue(a.url)
      for (const j of [live, revokedBefore, revokedDuring]) expect((await validate(b.url, j)).status).toBe(200)
      expect((await revoke(a.url, revokedBefore)).status).toBe(200)
      expect((await validate(b.url, revokedBefore)).status).toBe(401)

      await Promise.all([proxyA.stop(), proxyB.stop()])
      expect(await waitFor(async () => !(await ready(a)) && !(await ready(b)), 10_000, 100)).toBe(true)

      for (const t of [a, b]) {
        const t0 = Date.now()
        expect((await validate(t.url, live)).status).toBe(200)
        expect((await validate(t.url, revokedBefore)).status).toBe(401)
        // Falls through to PostgreSQL at once: no request waits on the dead connection.
        expect(Date.now() - t0).toBeLessThan(2_000)
      }
      // A revoke while Redis is away lands in PostgreSQL, which both instances now consult; it
      // answers 503 (not 200) because Redis, which other instances trust for "valid", did not take it.
      const during = await revoke(a.url, revokedDuring)
      expect(during.status).toBe(503)
      expect(await countRows([tokenId(revokedDuring)], 'revoked_at IS NOT NULL')).toBe(1)
      expect((await validate(b.url, revokedDuring)).status).toBe(401)
      expect((await validate(a.url, revokedDuring)).status).toBe(401)
      // New tokens work, and OTTs stay exactly-once with the database arbitrating.
      const fresh = await issue(b.url)
      expect((await validate(a.url, fresh)).status).toBe(200)
      const ott = await issue(a.url, 'ott')
      const statuses = (await Promise.all(Array.from({ length: 60 }, (_, i) => validate(i % 2 ? a.url : b.url, ott)))).map((r) => r.status)
      expect(statuses.filter((s) => s === 200)).toHaveLength(1)
      expect(statuses.filter((s) => s === 401)).toHaveLength(59)
      const errorsDuring = metricSum(await metrics(b.url), 'authbench_cache_errors_total')
      expect(errorsDuring).toBeGreaterThan(0)

      // Redis returns for both at once. While they reconnect, the tokens revoked before and
      // during the outage must never validate.
      await Promise.all([proxyA.start(), proxyB.start()])
      const deadline = Date.now() + 20_000
      let recovered = false
      for (let i = 0; i < 2_000 && Date.now() < deadline; i++) {
        const [rb, ra, r1] = await Promise.all([validate(b.url, revokedDuring), validate(a.url, revokedBefore), validate(b.url, live)])
        expect(rb.status, `revoked during the outage, on B, probe ${i}`).toBe(401)
        expect(ra.status, `revoked before the outage, on A, probe ${i}`).toBe(401)
        expect(r1.status, `live, on B, probe ${i}`).toBe(200)
        if ((await ready(a)) && (await ready(b))) {
          recovered = true
          break
        }
        await sleep(20)
      }
      expect(recovered).toBe(true)
      // The cache is used again: a validate is a Redis hit once more.
      const hitsBefore = metricSum(await metrics(b.url), 'authbench_cache_hits_total')
      await waitFor(
        async () => {
          await validate(b.url, live)
          return metricSum(await metrics(b.url), 'authbench_cache_hits_total') > hitsBefore
        },
        10_000,
        100
      )
      expect(metricSum(await metrics(b.url), 'authbench_cache_hits_total')).toBeGreaterThan(hitsBefore)
      for (const t of [a, b]) {
        expect((await validate(t.url, live)).status).toBe(200)
        expect((await validate(t.url, revokedBefore)).status).toBe(401)
        expect((await validate(t.url, revokedDuring)).status).toBe(401)
      }
      expect((await call(a.url, 'GET', `${BASE}/`)).status).toBe(200)
    }, 120_000)

    // The case that once served a revoked token: B's earlier validate left "valid" in Redis, A
    // revokes while its own Redis link is down (PostgreSQL gets it, Redis does not), and B's link
    // comes back first, so B reads the stale "valid". The target therefore never answers 200 to a
    // revoke that Redis did not take: A answers 503 + Retry-After, and the client's retry, once A
    // reaches Redis again, gets the 200 after which no instance validates the token.
    it('a revoke that Redis did not take answers 503, never 200; the retry after Redis returns answers 200 and then no instance validates the token', async () => {
      const jwt = await issue(a.url)
      // B's validate leaves "valid" for the token in Redis. The cache fill runs after the response
      // goes out: wait until it landed, or the cut would catch it and B would start out degraded.
      expect((await validate(b.url, jwt)).status).toBe(200)
      const direct = new Redis(redis, { maxRetriesPerRequest: 1 })
      try {
        expect(await waitFor(async () => (await direct.get(`authbench:tok:${tokenId(jwt)}`)) === '00', 5_000, 20)).toBe(true)
      } finally {
        direct.disconnect()
      }
      await Promise.all([proxyA.stop(), proxyB.stop()])
      expect(await waitFor(async () => !(await ready(a)) && !(await ready(b)), 10_000, 100)).toBe(true)
      const first = await revoke(a.url, jwt)
      expect(first.status).toBe(503)
      expect(await countRows([tokenId(jwt)], 'revoked_at IS NOT NULL')).toBe(1)
      await Promise.all([proxyA.start(), proxyB.start()])
      expect(await waitFor(async () => (await ready(a)) && (await ready(b)), 15_000, 100)).toBe(true)
      // The client retries as Retry-After says; once Redis has the revocation the answer is 200.
      expect(await waitFor(async () => (await revoke(a.url, jwt)).status === 200, 15_000, 200)).toBe(true)
      for (let i = 0; i < 10; i++) {
        expect((await validate(b.url, jwt)).status, `validate on B after the 200, probe ${i}`).toBe(401)
        expect((await validate(a.url, jwt)).status, `validate on A after the 200, probe ${i}`).toBe(401)
      }
    }, 120_000)
  })
})
