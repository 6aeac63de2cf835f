// PostgreSQL restarted mid-load (`pg_ctlcluster … restart`, the machine's own server: run this
// file only under the shared heavy lock) while a token + validate mix runs on phase1 (batch
// writer, no cache, so validate reads the database). Every token answered 200 must have its row
// once the database is back (counted in SQL against the collected ids); during the outage the only
// non-200 answers may be 503 with Retry-After; and the time to recover is measured.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RequestSpec } from '../../harness/engine/drivers/types.ts'
import { TargetProcess } from '../../harness/engine/target-process.ts'
import { postgresUrl, uniqueName } from '../helpers/services.ts'
import { SECRET } from '../target/helpers.ts'
import { openSchema, schemaUrl } from '../target/multi-instance/helpers.ts'
import { BASE, JSON_HEADERS, countRows, fiveXx, fmt, newTally, recordRow, runLoad, seedTokens, sleep, tokenSpec, waitFor, type MixTally } from './helpers.ts'
import { referenceTarget } from '../../scenarios/reference-target.ts'

const exec = promisify(execFile)
const pgBase = await postgresUrl('the PostgreSQL restart case')
const version = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql').sort().at(-1) : undefined
const canRestart = pgBase !== null && version !== undefined && existsSync('/usr/bin/pg_ctlcluster')
if (pgBase !== null && !canRestart) {
  const msg = 'pg_ctlcluster or /etc/postgresql/<version> is missing: cannot restart PostgreSQL'
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${msg}; CI=true requires it`)
  console.warn(`[skip] ${msg}`)
}
const RATE_RPS = 600

function validateSpec(t: MixTally, jwt: string): RequestSpec {
  return {
    method: 'POST',
    path: `${BASE}/validate`,
    headers: { ...JSON_HEADERS, authorization: `Bearer ${jwt}` },
    body: '{"resource":"/quotes/ltp"}',
    expectedStatuses: [200],
    tag: 'validate',
    onResponse: (status, headers) => {
      t.statuses[status] = (t.statuses[status] ?? 0) + 1
      if (status === 200) return
      t.lastNon200AtMs = Date.now()
      if (!(status === 503 && headers['retry-after'] !== undefined)) t.badNon200++
    }
  }
}

describe.skipIf(!canRestart)('PostgreSQL restarted mid-load (phase1, token + validate)', () => {
  const schema = uniqueName('res_pg')
  let db: Awaited<ReturnType<typeof openSchema>>
  let target: TargetProcess
  beforeAll(async () => {
    db = await openSchema(pgBase as string, schema)
    target = await TargetProcess.start({
      ...referenceTarget(),
      pinCpus: null,
      readyTimeoutMs: 60_000,
      stopTimeoutMs: 30_000,
      env: { JWT_SECRET: SECRET, LOG_LEVEL: 'warn', PRESET: 'phase1', DATABASE_URL: schemaUrl(pgBase as string, schema), DB_POOL_CONNECT_TIMEOUT_MS: '1000' }
    })
  }, 90_000)
  afterAll(async () => {
    await target?.stop()
    await db?.drop()
  })

  it('every token answered 200 is in `tokens` after recovery; only 503 + Retry-After during the outage', async () => {
    const seeded = await seedTokens(target.url, 1_000)
    const tally = newTally()
    const stop = new AbortController()
    let n = 0
    const load = runLoad(target.url, { rateRps: RATE_RPS, durationMs: 60_000, connections: 64, timeoutMs: 5_000, signal: stop.signal }, () =>
      n++ % 5 === 4 ? validateSpec(tally, seeded[n % seeded.length] as string) : tokenSpec(tally)
    )
    await sleep(2_000)
    const restartAtMs = Date.now()
    await exec('pg_ctlcluster', ['--skip-systemctl-redirect', version as string, 'main', 'restart'], { timeout: 60_000 })
    const backAtMs = Date.now()
    expect(
      await waitFor(
        async () =>
          await exec('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q']).then(
            () => true,
            () => false
          ),
        30_000,
        100
      )
    ).toBe(true)
    // When are the tokens answered before and during the outage all in the table? (flushes retry with backoff)
    const before = [...tally.issued]
    const flushedAt = waitFor(async () => (await countRows(db.sql, before)) === before.length, 30_000, 50).then(() => Date.now())
    await sleep(3_000)
    stop.abort()
    const outcome = await load

    // Recovery: every collected token has its row (the batch writer retried the failed flushes).
    const recovered = await waitFor(async () => (await countRows(db.sql, tally.issued)) === tally.issued.length, 30_000, 100)
    const flushedAtMs = await flushedAt
    const found = await countRows(db.sql, tally.issued)
    const lost = tally.issued.length - found
    const non200 = Object.entries(tally.statuses)
      .filter(([s]) => s !== '200')
      .reduce((a, [, c]) => a + c, 0)
    const serviceRecoveredMs = Math.max(0, tally.lastNon200AtMs - backAtMs)
    recordRow({
      id: 'pg-restart',
      order: 10,
      fault: `PostgreSQL restarted (pg_ctlcluster restart: ${fmt(backAtMs - restartAtMs)} ms)`,
      load: `token + validate 4:1 on phase1 at ${fmt(RATE_RPS)} req/s (${fmt(Math.round(outcome.openModel?.completedRps ?? 0))} answered/s); ${fmt(tally.issued.length)} tokens answered 200`,
      lost: `${lost} of ${fmt(tally.issued.length)} tokens (counted in SQL against the ids)`,
      recoverMs: serviceRecoveredMs,
      fiveXx: `${fmt(fiveXx(outcome))} (${non200 - tally.badNon200} 503 + Retry-After, ${tally.badNon200} other non-200)`,
      passed: recovered && lost === 0 && tally.badNon200 === 0,
      notes: `recover = last failed answer after the restart returned; rows of the ${fmt(before.length)} tokens answered until then all present ${fmt(flushedAtMs - backAtMs)} ms after it returned (failed flushes retried with backoff)`
    })
    expect(tally.issued.length).toBeGreaterThan(300)
    expect(recovered).toBe(true)
    expect(lost).toBe(0)
    expect(tally.badNon200, JSON.stringify(tally.statuses)).toBe(0)
    // The service works again: a fresh token validates (through the database, phase1 has no cache).
    const res = await fetch(`${target.url}${BASE}/validate`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, authorization: `Bearer ${tally.issuedJwts.at(-1) as string}` },
      body: '{"resource":"/quotes/ltp"}'
    })
    expect(res.status).toBe(200)
    expect(target.running).toBe(true)
  }, 120_000)
})
