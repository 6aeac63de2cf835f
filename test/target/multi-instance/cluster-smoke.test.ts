// Cluster mode smoke test: one target process with INSTANCES=2 (a node:cluster primary and two
// workers on one port) on PostgreSQL + Redis answers every route, spreads connections over both
// workers, and its /metrics aggregates the workers (prom-client's AggregatorRegistry): process
// CPU counters are present and the token counter sums both workers' issues.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import type { TargetProcess } from '../../../harness/engine/target-process.ts'
import { postgresUrl, redisUrl, uniqueName } from '../../helpers/services.ts'
import { BASE, clearRedisDb, closeDispatcher, issue, metricSum, metrics, openSchema, redisDbUrl, revoke, schemaUrl, startInstance, validate } from './helpers.ts'

const pgBase = await postgresUrl('the cluster-mode smoke test')
const redisBase = await redisUrl('the cluster-mode smoke test')
/** This file's Redis database (two-instances uses 12; the other suites 15). */
const REDIS_DB = 11

/** GET /debug/stats on a fresh connection each time, so that the cluster can hand it to either worker. */
async function pidOnNewConnection(url: string): Promise<number> {
  const res = await request(`${url}/debug/stats`, { method: 'GET', reset: true })
  return ((await res.body.json()) as { pid: number }).pid
}

describe.skipIf(!pgBase || !redisBase)('INSTANCES=2 on PostgreSQL + Redis (one port, node:cluster)', () => {
  const schema = uniqueName('mi_cluster')
  const redis = redisDbUrl(redisBase ?? 'redis://127.0.0.1:6379/15', REDIS_DB)
  let dropSchema: () => Promise<void> = async () => {}
  let target: TargetProcess | undefined

  beforeAll(async () => {
    const opened = await openSchema(pgBase!, schema)
    dropSchema = opened.drop
    await opened.sql.end()
    await clearRedisDb(redis)
    target = await startInstance({ DATABASE_URL: schemaUrl(pgBase!, schema), REDIS_URL: redis, PRESET: 'phase2', INSTANCES: '2', SWEEPER_INTERVAL_MS: '0' })
  }, 180_000)

  afterAll(async () => {
    const exit = await target?.stop()
    await dropSchema().catch(() => {})
    await clearRedisDb(redis).catch(() => {})
    await closeDispatcher()
    // The primary waits for both workers' graceful exits and then exits 0.
    expect(exit?.code).toBe(0)
  }, 60_000)

  it('answers, uses both workers, and /metrics aggregates them', async () => {
    const url = target!.url
    const pids = new Set<number>()
    for (let i = 0; i < 40 && pids.size < 2; i++) pids.add(await pidOnNewConnection(url))
    expect(pids.size).toBe(2)
    expect(pids.has(target!.pid ?? -1)).toBe(false)

    const jwts = await Promise.all(Array.from({ length: 30 }, () => issue(url)))
    for (const j of jwts.slice(0, 5)) expect((await validate(url, j)).status).toBe(200)
    expect((await revoke(url, jwts[0]!)).status).toBe(200)
    expect((await validate(url, jwts[0]!)).status).toBe(401)
    const ott = await issue(url, 'ott')
    const statuses = (await Promise.all(Array.from({ length: 40 }, () => validate(url, ott)))).map((r) => r.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)

    const text = await metrics(url)
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m)
    expect(text).toMatch(/^process_cpu_system_seconds_total \d/m)
    expect(metricSum(text, 'process_cpu_seconds_total')).toBeGreaterThan(0)
    // Summed over the workers, whichever of them served each issue.
    expect(metricSum(text, 'authbench_tokens_issued_total')).toBe(31)
    expect(metricSum(text, 'authbench_pool_connections')).toBeGreaterThan(0)
    expect((await request(`${url}${BASE}/`)).statusCode).toBe(200)
  }, 60_000)
})
