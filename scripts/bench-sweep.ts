// The sweep figure of the real-backends issue: with 1,000,000 expired rows in `tokens`, POST
// /validate's p99 while the batched cleanup runs, against its p99 without it, and the sweep's
// duration. CACHE=none makes every validate reach the store, which is what the sweep competes with.
// By default the script starts that target itself (harness/engine/target-process.ts) pinned to core 0, on
// a PostgreSQL schema of its own (created, and dropped at the end), and pins itself to core 1:
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx scripts/bench-sweep.ts --rows 1000000 --md reports/bench-sweep.md
// Or against a target already running on that database (pin it yourself; this script still pins
// itself to core 1):
//   DATABASE_URL=… CACHE=none taskset -c 0 npm start
//   DATABASE_URL=… node --import tsx scripts/bench-sweep.ts --target http://127.0.0.1:3000
// The sweep runs here, through the store's own deleteExpiredBatch and the sweeper's batch size and
// pause, so that it starts exactly when the measured window does; its cost lands in PostgreSQL,
// where the target's sweeper would put it too. Latency is recorded in microseconds from autocannon's
// `response` event (its own histogram rounds to whole milliseconds).
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import autocannon from 'autocannon'
import pg from 'pg'
import { pinGenerator, startTarget } from '../harness/engine/target-process.ts'
import type { TargetProcess } from '../harness/engine/target-process.ts'
import { PostgresStore } from '../target/stores/postgres.ts'
import { PgSqlClient, assertIdentifier } from '../target/stores/sql-client.ts'
import { referenceTarget } from '../scenarios/reference-target.ts'
import { BASE_PATH } from '../scenarios/catalog.ts'

const BASE = BASE_PATH
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
  console.error(
    'usage: DATABASE_URL=… node --import tsx scripts/bench-sweep.ts [--target http://127.0.0.1:3000] [--rows 1000000]\n' +
      '  [--duration-s 10] [--connections 16] [--batch-size 10000] [--pause-ms 200] [--schema name] [--out reports/bench-sweep.json] [--md reports/bench-sweep.md]\n' +
      '  Without --target, starts its own target (CACHE=none) pinned to core 0 on a schema of its own.'
  )
  process.exit(2)
}

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim()
  } catch {
    return 'uptime unavailable'
  }
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
  const instance = autocannon(
    {
      url: `${target}${BASE}/validate`,
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ resource: '/quotes/ltp' }),
      connections,
      // Closed model without a rate: autocannon adds no coordinated-omission samples here (and
      // refuses ignoreCoordinatedOmission without one).
      duration: Math.ceil(maxDurationMs / 1000),
      // How often autocannon checks stop(): its 1 s default would stretch the "during" window up to a
      // second past the end of the sweep, mixing quiet samples into it.
      sampleInt: 100
    },
    (err) => finish(err ?? null)
  )
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

interface Options {
  target: string | undefined
  rows: number
  durationMs: number
  connections: number
  batchSize: number
  pauseMs: number
  schema: string | undefined
  out: string
  md: string | undefined
  databaseUrl: string
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      rows: { type: 'string', default: '1000000' },
      'duration-s': { type: 'string', default: '10' },
      connections: { type: 'string', default: '16' },
      'batch-size': { type: 'string', default: '10000' },
      'pause-ms': { type: 'string', default: '200' },
      schema: { type: 'string' },
      out: { type: 'string', default: 'reports/bench-sweep.json' },
      md: { type: 'string' }
    }
  })
  if (values.target !== undefined && !LOOPBACK.has(new URL(values.target).hostname)) usage('--target must be on 127.0.0.1 or ::1')
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
  return { target: values.target, rows, durationMs, connections, batchSize, pauseMs, schema: values.schema, out: values.out, md: values.md, databaseUrl }
}

/** Creates `schema` and starts a target (CACHE=none, no sweeper of its own) on it, pinned to core 0. */
async function startOwnTarget(databaseUrl: string, schema: string): Promise<TargetProcess> {
  const admin = new pg.Client({ connectionString: databaseUrl })
  await admin.connect()
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).finally(() => admin.end())
  const url = new URL(databaseUrl)
  // libpq's startup option: the target's pool and its migrations use the schema.
  url.searchParams.set('options', `-c search_path=${schema}`)
  return await startTarget({
    ...referenceTarget({
      DATABASE_URL: url.toString(),
      CACHE: 'none',
      PRESET: 'phase2',
      SWEEPER_INTERVAL_MS: '0',
      LOG_LEVEL: 'error',
      REDIS_URL: undefined,
      JWT_SECRET: `bench-sweep-${randomBytes(24).toString('hex')}`
    }),
    port: 0,
    pinCpus: '0',
    readyTimeoutMs: 60_000
  })
}

async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl })
  await admin.connect()
  await admin
    .query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    .catch(() => {})
    .finally(() => admin.end())
}

/** Inserts `rows` tokens that expired within the last two hours, then re-analyses the table; returns how long that took (ms). */
async function insertExpired(client: PgSqlClient, rows: number): Promise<number> {
  console.log(`inserting ${rows} expired rows…`)
  const insertStart = performance.now()
  const nowMs = Date.now()
  await client.query(
    `INSERT INTO tokens (token_id, token_hash, token_type, client_id, scopes, issued_at, expires_at)
    SELECT 'bench-sweep-' || i, md5(i::text), 'N', 'bench-client', '{read:ltp}',
      to_timestamp($1::float8 / 1000) - interval '2 hours', to_timestamp($1::float8 / 1000) - interval '1 hour' - (i % 3600) * interval '1 second'
    FROM generate_series(1, $2::int) AS i ON CONFLICT (token_id) DO NOTHING`,
    [nowMs, rows]
  )
  await client.exec('VACUUM ANALYZE tokens')
  return Math.round(performance.now() - insertStart)
}

interface Sweep {
  deleted: number
  batches: number
  durationMs: number
}

/** The sweeper's loop: delete a batch of expired rows, pause, again, until a batch comes back short. */
async function sweepExpired(store: PostgresStore, batchSize: number, pauseMs: number): Promise<Sweep> {
  let deleted = 0
  let batches = 0
  const sweepStart = performance.now()
  for (;;) {
    const n = await store.deleteExpiredBatch(Date.now(), batchSize)
    deleted += n
    batches++
    if (n < batchSize) return { deleted, batches, durationMs: performance.now() - sweepStart }
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs))
  }
}

interface SweepResult {
  rows: number
  batchSize: number
  pauseMs: number
  connections: number
  deleted: number
  batches: number
  insertMs: number
  targetPinnedCpus: string | null
  generatorPinnedCpus: string | null
  loadBefore: string
  loadAfter: string
  sweepDurationMs: number
  p99RatioDuringVsWithout: number
  windows: [Window, Window]
}

function renderMarkdown(result: SweepResult, databaseUrl: string): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
  const [quiet, during] = result.windows
  return [
    '# Validate p99 during the batched sweep of expired rows',
    '',
    `Command: \`DATABASE_URL=${databaseUrl.replace(/\/\/[^@/]*@/, '//***@')} node --import tsx scripts/bench-sweep.ts ${process.argv.slice(2).join(' ')}\``,
    '',
    `Date: ${new Date().toISOString()}. Node ${process.version}. Target (PRESET=phase2, CACHE=none, PostgreSQL store) pinned to CPU ${result.targetPinnedCpus ?? 'none'}; load generator and sweep driver pinned to CPU ${result.generatorPinnedCpus ?? 'none'}; PostgreSQL unpinned.`,
    `${fmt(result.rows)} expired rows inserted in ${fmt(result.insertMs)} ms (then VACUUM ANALYZE). Sweep: DELETE_EXPIRED_SQL batches of ${fmt(result.batchSize)}, ${result.pauseMs} ms pause, stop on a short batch. POST /validate on one token, closed model, ${result.connections} connections, latency in µs per response.`,
    `Load average before: \`${result.loadBefore}\``,
    `Load average after: \`${result.loadAfter}\``,
    '',
    '| window | requests | non-2xx | duration ms | p50 µs | p99 µs | max µs |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...result.windows.map((w) => `| ${w.label} | ${fmt(w.requests)} | ${w.non2xx} | ${fmt(w.durationMs)} | ${fmt(w.p50Us)} | ${fmt(w.p99Us)} | ${fmt(w.maxUs)} |`),
    '',
    `**Sweep:** ${fmt(result.deleted)} rows deleted in ${result.batches} batches, **${fmt(result.sweepDurationMs)} ms**.`,
    `**Validate p99 during / without the sweep: ${result.p99RatioDuringVsWithout}** (${fmt(during.p99Us)} µs / ${fmt(quiet.p99Us)} µs).`,
    ''
  ].join('\n')
}

/** Prints the windows and the sweep, writes the JSON result and, with --md, the markdown report. */
async function report(result: SweepResult, o: Options): Promise<void> {
  const [quiet, during] = result.windows
  console.table(result.windows)
  console.log(`sweep: ${result.deleted} rows in ${result.batches} batches, ${result.sweepDurationMs} ms; validate p99 during/without = ${result.p99RatioDuringVsWithout}`)
  if (quiet.non2xx > 0 || during.non2xx > 0) console.warn('warning: some validations were not 2xx; check the target before trusting the figures')
  await mkdir(dirname(o.out), { recursive: true })
  await writeFile(o.out, JSON.stringify(result, null, 2))
  console.log(`written ${o.out}`)
  if (o.md !== undefined) {
    await mkdir(dirname(o.md), { recursive: true })
    await writeFile(o.md, renderMarkdown(result, o.databaseUrl))
    console.log(`written ${o.md}`)
  }
}

/** Validate's p99 without the sweep, then during it: the second window lasts as long as the sweep does. */
async function measureWindows(o: Options, target: string, jwt: string, store: PostgresStore): Promise<{ quiet: Window; during: Window; sweep: Sweep }> {
  // Warm-up, so that neither window pays JIT and connection set-up.
  await measure('warm-up', target, jwt, o.connections, 2_000)
  const quiet = await measure('without sweep', target, jwt, o.connections, o.durationMs)
  const sweeping = sweepExpired(store, o.batchSize, o.pauseMs)
  // The window lasts as long as the sweep, bounded so a slow machine still finishes.
  const during = await measure('during sweep', target, jwt, o.connections, Math.max(o.durationMs * 6, 60_000), sweeping)
  return { quiet, during, sweep: await sweeping }
}

async function main(): Promise<void> {
  const o = parseOptions()
  // The load (and the sweep's driver) on core 1; the target on core 0 (below, or pinned by whoever
  // started it): the two must not take turns on one core, or the p99s measure the scheduler.
  const generatorCpus = await pinGenerator('1')
  const ownSchema = o.target === undefined ? assertIdentifier(o.schema ?? `bench_sweep_${randomBytes(4).toString('hex')}`) : null
  const ownTarget = ownSchema === null ? null : await startOwnTarget(o.databaseUrl, ownSchema)
  const schema = ownSchema ?? o.schema
  const target = (o.target ?? ownTarget!.url).replace(/\/$/, '')
  const health = await fetch(`${target}${BASE}/`).catch((err: unknown) => usage(`target not reachable at ${target}: ${String(err)}`))
  if (!health.ok) usage(`GET ${BASE}/ answered ${health.status}`)
  const jwt = await fetchToken(target)
  const loadBefore = uptime()

  const client = new PgSqlClient({
    connectionString: o.databaseUrl,
    max: 2,
    min: 0,
    idleTimeoutMs: 10_000,
    maxLifetimeMs: 0,
    connectTimeoutMs: 5_000,
    ...(schema ? { schema } : {})
  })
  const store = await PostgresStore.open(client, { migrate: false })
  try {
    const insertMs = await insertExpired(client, o.rows)
    const { quiet, during, sweep } = await measureWindows(o, target, jwt, store)
    const loadAfter = uptime()
    const result: SweepResult = {
      rows: o.rows,
      batchSize: o.batchSize,
      pauseMs: o.pauseMs,
      connections: o.connections,
      deleted: sweep.deleted,
      batches: sweep.batches,
      insertMs,
      targetPinnedCpus: ownTarget ? ownTarget.pinnedCpus : 'external (pin it yourself)',
      generatorPinnedCpus: generatorCpus,
      loadBefore,
      loadAfter,
      sweepDurationMs: Math.round(sweep.durationMs),
      p99RatioDuringVsWithout: Number((during.p99Us / quiet.p99Us).toFixed(3)),
      windows: [quiet, during]
    }
    await report(result, o)
  } finally {
    await client.query("DELETE FROM tokens WHERE token_id LIKE 'bench-sweep-%'").catch(() => {})
    await store.close()
    await ownTarget?.stop()
    if (ownSchema !== null) await dropSchema(o.databaseUrl, ownSchema)
  }
}

await main().catch((err: unknown) => {
  console.error(`bench-sweep: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})
