// Redis cut mid-load through a TCP proxy (the machine's shared Redis stays up), during a validate
// + revoke mix on phase2 with PostgreSQL and the tiered cache. Every validate of a token whose
// revocation had been answered 200 before the validate was sent must answer 401, over at least
// 10,000 such checks; every revocation answered 200 has its revoked_at in PostgreSQL; and the
// cache recovers (ready again, answering hits) once Redis is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RequestSpec } from '../../harness/engine/drivers/types.ts'
import { TargetProcess } from '../../harness/engine/target-process.ts'
import { postgresUrl, redisUrl, uniqueName } from '../helpers/services.ts'
import { SECRET } from '../target/helpers.ts'
import { RedisProxy, clearRedisDb, metricSum, openSchema, redisDbUrl, schemaUrl } from '../target/multi-instance/helpers.ts'
import { BASE, JSON_HEADERS, countRows, fiveXx, fmt, recordRow, runLoad, seedTokens, sleep, tokenIdOf, waitFor } from './helpers.ts'
import { referenceTarget } from '../../scenarios/reference-target.ts'

const pgBase = await postgresUrl('the Redis cut case')
const redisBase = await redisUrl('the Redis cut case')
const REDIS_DB = 13
const RATE_RPS = 1_500
const MIN_CHECKS = 10_000
const CUT_AT_MS = 3_000
const CUT_FOR_MS = 3_000

describe.skipIf(!pgBase || !redisBase)('Redis unreachable mid-load (phase2, tiered cache, PostgreSQL)', () => {
  const schema = uniqueName('res_redis')
  const redis = redisDbUrl(redisBase ?? 'redis://127.0.0.1:6379/15', REDIS_DB)
  const proxy = new RedisProxy(new URL(redis))
  let db: Awaited<ReturnType<typeof openSchema>>
  let target: TargetProcess
  beforeAll(async () => {
    db = await openSchema(pgBase as string, schema)
    await clearRedisDb(redis)
    await proxy.start()
    target = await TargetProcess.start({
      ...referenceTarget(),
      pinCpus: null,
      readyTimeoutMs: 60_000,
      stopTimeoutMs: 30_000,
      env: { JWT_SECRET: SECRET, LOG_LEVEL: 'error', PRESET: 'phase2', DATABASE_URL: schemaUrl(pgBase as string, schema), REDIS_URL: proxy.url(), QUEUE_TIMEOUT_MS: '5000' }
    })
  }, 90_000)
  afterAll(async () => {
    await target?.stop()
    await proxy.stop()
    await clearRedisDb(redis).catch(() => {})
    await db?.drop()
  })

  it(`0 revoked tokens validate over ≥ ${fmt(MIN_CHECKS)} checks, no revocation lost, and the cache recovers`, async () => {
    const pool = await seedTokens(target.url, 6_000)
    const live = pool.splice(0, 500)
    const confirmed: string[] = []
    const revokedIds: string[] = []
    const statuses: Record<string, number> = {}
    let checks = 0
    let revokedValid = 0
    let badNon200 = 0
    const note = (status: number, headers: Record<string, string | string[] | undefined>): void => {
      statuses[status] = (statuses[status] ?? 0) + 1
      if (status >= 500 && !(status === 503 && headers['retry-after'] !== undefined)) badNon200++
    }
    const validate = (jwt: string, revoked: boolean): RequestSpec => ({
      method: 'POST',
      path: `${BASE}/validate`,
      headers: { ...JSON_HEADERS, authorization: `Bearer ${jwt}` },
      body: '{"resource":"/quotes/ltp"}',
      expectedStatuses: revoked ? [401] : [200],
      onResponse: (status, headers) => {
        note(status, headers)
        if (!revoked) return
        checks++
        if (status === 200) revokedValid++
      }
    })
    let next = 0
    let n = 0
    const stop = new AbortController()
    const load = runLoad(target.url, { rateRps: RATE_RPS, durationMs: 60_000, connections: 64, timeoutMs: 5_000, signal: stop.signal }, () => {
      const k = n++ % 20
      if (k < 3 && next < pool.length) {
        const jwt = pool[next++] as string
        return {
          method: 'POST',
          path: `${BASE}/revoke`,
          headers: { authorization: `Bearer ${jwt}` },
          expectedStatuses: [200],
          onResponse: (status, headers) => {
            note(status, headers)
            if (status === 200) {
              confirmed.push(jwt)
              revokedIds.push(tokenIdOf(jwt))
            }
          }
        }
      }
      // A check is only a check once the revocation was acknowledged before this validate is sent.
      if (k < 18 && confirmed.length > 0) return validate(confirmed[Math.floor(Math.random() * confirmed.length)] as string, true)
      return validate(live[n % live.length] as string, false)
    })

    await sleep(CUT_AT_MS)
    await proxy.stop()
    const cutAtMs = Date.now()
    const wentUnready = await waitFor(async () => (await fetch(`${target.url}/health/ready`)).status === 503, 10_000, 50)
    await sleep(Math.max(0, CUT_FOR_MS - (Date.now() - cutAtMs)))
    await proxy.start()
    const restoredAtMs = Date.now()
    // While the load goes on, the cache counts as recovered at the first 100 ms in which it
    // answered hits and counted no error (a degraded cache counts an error per read it skips).
    const cacheCounters = async (): Promise<{ hits: number; errors: number }> => {
      const text = await (await fetch(`${target.url}/metrics`)).text()
      return { hits: metricSum(text, 'authbench_cache_hits_total'), errors: metricSum(text, 'authbench_cache_errors_total') }
    }
    let cacheRecoveredMs: number | null = null
    const cacheWatch = (async () => {
      let last = await cacheCounters()
      while (cacheRecoveredMs === null && Date.now() - restoredAtMs < 30_000 && !stop.signal.aborted) {
        await sleep(100)
        const now = await cacheCounters()
        if (now.hits > last.hits && now.errors === last.errors) cacheRecoveredMs = Date.now() - restoredAtMs
        last = now
      }
    })()
    const readyAgain = await waitFor(async () => (await fetch(`${target.url}/health/ready`)).status === 200, 30_000, 50)
    const readyAtMs = Date.now()
    // Keep the load on until enough checks were made (a busy machine sends fewer per second).
    await waitFor(() => checks >= MIN_CHECKS && Date.now() - restoredAtMs > 2_000 && cacheRecoveredMs !== null, 60_000, 100)
    stop.abort()
    const outcome = await load
    await cacheWatch

    // The cache answers again: one live token validated until it is a cache hit (its first validate
    // after the cut may be a miss that fills the cache; a validate may still be shed with 503).
    const hits = async (): Promise<number> => metricSum(await (await fetch(`${target.url}/metrics`)).text(), 'authbench_cache_hits_total')
    const hitsBefore = await hits()
    const probeStatuses: Record<string, number> = {}
    await waitFor(
      async () => {
        const res = await fetch(`${target.url}${BASE}/validate`, {
          method: 'POST',
          headers: { ...JSON_HEADERS, authorization: `Bearer ${live[0] as string}` },
          body: '{"resource":"/quotes/ltp"}'
        })
        probeStatuses[res.status] = (probeStatuses[res.status] ?? 0) + 1
        await res.arrayBuffer()
        return (await hits()) > hitsBefore
      },
      15_000,
      50
    )
    const hitsAfter = await hits()
    const revokedInDb = await countRows(db.sql, revokedIds, 'revoked_at IS NOT NULL')
    // And afterwards, every acknowledged revocation still holds, Redis back or not.
    // Ten at a time, and a 503 (shed, with Retry-After) is asked again: the question is what the
    // answer is, not whether the target is still busy from the load.
    let still401 = 0
    const after: Record<string, number> = {}
    for (let i = 0; i < confirmed.length; i += 10) {
      const statusesNow = await Promise.all(
        confirmed.slice(i, i + 10).map(async (jwt) => {
          for (let attempt = 0; ; attempt++) {
            const res = await fetch(`${target.url}${BASE}/validate`, {
              method: 'POST',
              headers: { ...JSON_HEADERS, authorization: `Bearer ${jwt}` },
              body: '{"resource":"/quotes/ltp"}'
            })
            await res.arrayBuffer()
            if (res.status !== 503 || attempt >= 20) return res.status
            await sleep(100)
          }
        })
      )
      for (const st of statusesNow) after[st] = (after[st] ?? 0) + 1
      still401 += statusesNow.filter((st) => st === 401).length
    }
    if ((after['200'] ?? 0) > 0) revokedValid += after['200'] as number
    const lost = revokedIds.length - revokedInDb
    recordRow({
      id: 'redis-cut',
      order: 20,
      fault: `Redis cut for ${fmt(CUT_FOR_MS)} ms through a TCP proxy`,
      load: `validate + revoke (17:3) on phase2, tiered cache, PostgreSQL, at ${fmt(RATE_RPS)} req/s (${fmt(Math.round(outcome.openModel?.completedRps ?? 0))} answered/s); ${fmt(checks)} validations of revoked tokens`,
      lost: `${revokedValid} revoked tokens validated of ${fmt(checks)} checks; ${lost} of ${fmt(revokedIds.length)} revocations lost`,
      recoverMs: readyAtMs - restoredAtMs,
      fiveXx: `${fmt(fiveXx(outcome))} (${badNon200} not 503 + Retry-After)`,
      passed: revokedValid === 0 && checks >= MIN_CHECKS && lost === 0 && still401 === confirmed.length && readyAgain && hitsAfter > hitsBefore && badNon200 === 0,
      notes: `recover = proxy restored to /health/ready 200; the cache answered hits with no error ${cacheRecoveredMs === null ? 'never, within 30 s under load' : `${fmt(cacheRecoveredMs)} ms after the proxy was restored`}; revokes during the cut answer 503 + Retry-After (not acknowledged)`
    })
    expect(wentUnready).toBe(true)
    expect(checks).toBeGreaterThanOrEqual(MIN_CHECKS)
    expect(revokedValid).toBe(0)
    expect(lost).toBe(0)
    expect(still401, JSON.stringify(after)).toBe(confirmed.length)
    expect(readyAgain).toBe(true)
    // A CI run once saw Redis errors go on for 15 s after the proxy came back: every read of the
    // degraded cache replayed the missed revocations itself and the flood kept it degraded. One
    // replay, pipelined, is what RedisTokenCache does now (test/target/cache/redis-cache.test.ts).
    expect(
      hitsAfter,
      `validates after recovery: ${JSON.stringify(probeStatuses)}; ${(await (await fetch(`${target.url}/metrics`)).text())
        .split('\n')
        .filter((l) => l.startsWith('authbench_cache'))
        .join('; ')}`
    ).toBeGreaterThan(hitsBefore)
    expect(badNon200, JSON.stringify(statuses)).toBe(0)
  }, 150_000)
})
