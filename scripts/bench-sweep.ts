// The sweep figure of the real-backends issue: with 1,000,000 expired rows in `tokens`, POST
// /validate's p99 while the batched cleanup runs, against its p99 without it, and the sweep's
// duration. Needs a running target on PostgreSQL; CACHE=none makes every validate reach the store,
// which is what the sweep competes with. Pin the two sides to separate cores, for example:
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test CACHE=none taskset -c 0 npm start
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test taskset -c 1 node --import tsx scripts/bench-sweep.ts
// The sweep runs here, through the store's own deleteExpiredBatch and the sweeper's batch size and
// pause, so that it starts exactly when the measured window does; its cost lands in PostgreSQL,
// where the target's sweeper would put it too. Latency is recorded in microseconds from autocannon's
// `response` event (its own histogram rounds to whole milliseconds).
import { parseArgs } from 'node:util'
import { mkdir, writeFile } from 'node:fs/promises'
import autocannon from 'autocannon'
import { PostgresStore } from '../target/stores/postgres.ts'
import { PgSqlClient } from '../target/stores/sql-client.ts'

const BASE = '/auth-server/v1/oauth'
const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost'])

interface Window {
  label: string
  requests: number
  non2xx: number
  durationMs: number
  p50Us: number
  p99Us: number
  maxUs: number
}

function usage(msg?: string): never {
  if (msg) console.error(`bench-sweep: ${msg}`)
  console.error('usage: DATABASE_URL=… node --import tsx scripts/bench-sweep.ts [--target http://127.0.0.1:3000] [--rows 1000000]\n'
    + '  [--duration-s 10] [--connections 16] [--batch-size 10000] [--pause-ms 200] [--schema name] [--out reports/bench-sweep.json]')
  process.exit(2)
}

function percentile(sortedUs: Float64Array, p: number): number {
  if (sortedUs.length === 0) return Number.NaN
  return sortedUs[Math.min(sortedUs.length - 1, Math.ceil((p / 100) * sortedUs.length) - 1)]!
}

async function fetchToken(target: string): Promise<string> {
  const res = await fetch(`${target}${BASE}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'test-secret-123' })
  })
  if (!res.ok) throw new Error(`POST /token answered ${res.status}: ${await res.text()}`)
  const body = (await res.json()) as { access_token?: string }
  if (!body.access_token) throw new Error('POST /token returned no access_token')
  return body.access_token
}

/** Load POST /validate until `stop` resolves or `maxDurationMs` passes. */
async function measure(label: string, target: string, jwt: string, connections: number, maxDurationMs: number, stop?: Promise<unknown>): Promise<Window> {
  const latenciesUs: number[] = []
  let non2xx = 0
  const t0 = performance.now()
  let finish!: (err: Error | null) => void
  const finished = new Promise<void>((resolve, reject) => {
    finish = (err) => (err ? reject(err) : resolve())
  })
  const instance = autocannon({
    url: `${target}${BASE}/validate`,
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    body: JSON.stringify({ resource: '/quotes/ltp' }),
    connections,
    // Closed model without a rate: autocannon adds no coordinated-omission samples here (and
    // refuses ignoreCoordinatedOmission without one).
    duration: Math.ceil(maxDurationMs / 1000)
  }, (err) => finish(err ?? null))
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    latenciesUs.push(responseTimeMs * 1000)
    if (statusCode < 200 || statusCode >= 300) non2xx++
  })
  void stop?.then(() => instance.stop())
  await finished
  const sorted = Float64Array.from(latenciesUs).sort()
  return {
    label,
    requests: sorted.length,
    non2xx,
    durationMs: Math.round(performance.now() - t0),
    p50Us: Math.round(percentile(sorted, 50)),
    p99Us: Math.round(percentile(sorted, 99)),
    maxUs: Math.round(sorted[sorted.length - 1] ?? Number.NaN)
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'http://127.0.0.1:3000' },
      rows: { type: 'string', default: '1000000' },
      'duration-s': { type: 'string', default: '10' },
      connections: { type: 'string', default: '16' },
      'batch-size': { type: 'string', default: '10000' },
      'pause-ms': { type: 'string', default: '200' },
      schema: { type: 'string' },
      out: { type: 'string', default: 'reports/bench-sweep.json' }
    }
  })
  const target = values.target.replace(/\/$/, '')
  if (!LOOPBACK.has(new URL(target).hostname)) usage('--target must be on 127.0.0.1 or ::1')
  const int = (name: string, v: string, min: number) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min) usage(`--${name} must be an integer ≥ ${min}`)
    return n
  }
  const rows = int('rows', values.rows, 1)
  const durationMs = int('duration-s', values['duration-s'], 1) * 1000
  const connections = int('connections', values.connections, 1)
  const batchSize = int('batch-size', values['batch-size'], 1)
  const pauseMs = int('pause-ms', values['pause-ms'], 0)
  const databaseUrl = process.env.DATABASE_URL
  if (!databaseUrl) usage('DATABASE_URL is not set (the database the target uses)')
  if (!LOOPBACK.has(new URL(databaseUrl).hostname)) usage('DATABASE_URL must point at 127.0.0.1 or ::1')

  const health = await fetch(`${target}${BASE}/`).catch((err: unknown) => usage(`target not reachable at ${target}: ${String(err)}`))
  if (!health.ok) usage(`GET ${BASE}/ answered ${health.status}`)
  const jwt = await fetchToken(target)

  const client = new PgSqlClient({ connectionString: databaseUrl, max: 2, min: 0, idleTimeoutMs: 10_000, maxLifetimeMs: 0, connectTimeoutMs: 5_000, ...(values.schema ? { schema: values.schema } : {}) })
  const store = await PostgresStore.open(client, { migrate: false })
  try {
    console.log(`inserting ${rows} expired rows…`)
    const nowMs = Date.now()
    await client.query(`INSERT INTO tokens (token_id, token_hash, token_type, client_id, scopes, issued_at, expires_at)
      SELECT 'bench-sweep-' || i, md5(i::text), 'N', 'bench-client', '{read:ltp}',
        to_timestamp($1::float8 / 1000) - interval '2 hours', to_timestamp($1::float8 / 1000) - interval '1 hour' - (i % 3600) * interval '1 second'
      FROM generate_series(1, $2::int) AS i ON CONFLICT (token_id) DO NOTHING`, [nowMs, rows])
    await client.exec('VACUUM ANALYZE tokens')

    // Warm-up, so that neither window pays JIT and connection set-up.
    await measure('warm-up', target, jwt, connections, 2_000)
    const quiet = await measure('without sweep', target, jwt, connections, durationMs)

    let deleted = 0
    let batches = 0
    const sweepStart = performance.now()
    const sweep = (async () => {
      for (;;) {
        const n = await store.deleteExpiredBatch(Date.now(), batchSize)
        deleted += n
        batches++
        if (n < batchSize) return
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs))
      }
    })()
    const sweepDone = sweep.then(() => performance.now() - sweepStart)
    // The window lasts as long as the sweep, bounded so a slow machine still finishes.
    const during = await measure('during sweep', target, jwt, connections, Math.max(durationMs * 6, 60_000), sweepDone)
    const sweepMs = await sweepDone

    const result = {
      rows, batchSize, pauseMs, connections, deleted, batches,
      sweepDurationMs: Math.round(sweepMs),
      p99RatioDuringVsWithout: Number((during.p99Us / quiet.p99Us).toFixed(3)),
      windows: [quiet, during]
    }
    console.table(result.windows)
    console.log(`sweep: ${deleted} rows in ${batches} batches, ${result.sweepDurationMs} ms; validate p99 during/without = ${result.p99RatioDuringVsWithout}`)
    if (quiet.non2xx > 0 || during.non2xx > 0) console.warn('warning: some validations were not 2xx; check the target before trusting the figures')
    await mkdir('reports', { recursive: true })
    await writeFile(values.out, JSON.stringify(result, null, 2))
    console.log(`written ${values.out}`)
  } finally {
    await client.query("DELETE FROM tokens WHERE token_id LIKE 'bench-sweep-%'").catch(() => {})
    await store.close()
  }
}

await main().catch((err: unknown) => {
  console.error(`bench-sweep: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})
