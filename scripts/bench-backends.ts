// The real-backends issue's figures, in one run: throughput of POST /token, POST /validate and
// POST /revoke on PostgreSQL + Redis (DATABASE_URL + REDIS_URL, so the cache is `tiered`) as ratios
// to the same endpoints on the embedded default (memory store, LRU), both PRESET=phase2; validate's
// p99 on both; and the cache hit rate during the validate windows.
//
// Method: both targets run at once pinned to core 0 (the idle one costs nothing measurable), this
// generator on core 1; PostgreSQL and Redis are not ours to pin and float over both cores, which is
// part of what the PostgreSQL + Redis target costs. Closed model (harness/engine/drivers/closed.ts: 32
// connections, latency recorded per response in µs, not autocannon's whole milliseconds), one
// warm-up second then 5 s per window, and rounds interleaved endpoint by endpoint with the backend
// order alternating, so drift of a shared machine hits both sides alike. Ratios are medians of the
// per-round ratios.
//   - validate: a pool of distinct live tokens issued beforehand, visited in a shuffled order, so
//     the cache sees many keys (the first visit of each is a miss) rather than one hot entry.
//   - revoke: every request revokes a different live token, issued (and flushed) before the window.
//   node --import tsx scripts/bench-backends.ts [--rounds 3] [--duration-s 5] [--connections 32]
//     [--validate-pool 20000] [--revoke-pool 60000] [--out reports/bench-backends.md]
// DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) gets a schema of its own
// (bench_backends_*, dropped at the end); REDIS_URL defaults to redis://127.0.0.1:6379/10 and the
// target's keys there are deleted at the end.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { deleteTargetKeys } from '../target/cache/redis.ts'
import pg from 'pg'
import { Agent, request } from 'undici'
import { ClosedDriver } from '../harness/engine/drivers/closed.ts'
import type { RequestSpec } from '../harness/engine/drivers/types.ts'
import { summarizeEncoded } from '../harness/stats/recorder.ts'
import { pinGenerator, startTarget } from '../harness/engine/target-process.ts'
import type { TargetProcess } from '../harness/engine/target-process.ts'
import type { LoadSettings } from '../harness/types.ts'
import { referenceTarget } from '../scenarios/reference-target.ts'
import { BASE_PATH } from '../scenarios/catalog.ts'

const BASE = BASE_PATH
const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost'])
const CLIENT_BODY = JSON.stringify({ grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'test-secret-123' })
const VALIDATE_BODY = JSON.stringify({ resource: '/quotes/ltp' })
const SECRET = `bench-backends-${randomBytes(24).toString('hex')}`

type Backend = 'embedded' | 'pg+redis'
type Endpoint = 'token' | 'validate' | 'revoke'
const BACKENDS: Backend[] = ['embedded', 'pg+redis']
const ENDPOINTS: Endpoint[] = ['token', 'validate', 'revoke']

interface Window {
  round: number
  backend: Backend
  endpoint: Endpoint
  rps: number
  requests: number
  non2xx: number
  p50Us: number
  p99Us: number
  /** validate only: hits / (hits + misses) over the window, from /metrics. */
  hitRate: number | null
}

function usage(msg: string): never {
  console.error(`bench-backends: ${msg}`)
  console.error(
    'usage: node --import tsx scripts/bench-backends.ts [--rounds 3] [--duration-s 5] [--connections 32] [--validate-pool 20000] [--revoke-pool 60000] [--out reports/bench-backends.md]'
  )
  process.exit(2)
}

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'duration-s': { type: 'string', default: '5' },
    'warmup-s': { type: 'string', default: '1' },
    connections: { type: 'string', default: '32' },
    'validate-pool': { type: 'string', default: '20000' },
    'revoke-pool': { type: 'string', default: '60000' },
    out: { type: 'string', default: 'reports/bench-backends.md' }
  }
})
const int = (name: string, v: string, min: number, max: number): number => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max) usage(`--${name} must be an integer in [${min}, ${max}]`)
  return n
}
const rounds = int('rounds', values.rounds, 1, 20)
const durationMs = int('duration-s', values['duration-s'], 1, 600) * 1000
const warmupMs = int('warmup-s', values['warmup-s'], 0, 60) * 1000
const connections = int('connections', values.connections, 1, 1024)
const validatePool = int('validate-pool', values['validate-pool'], 1, 1_000_000)
const revokePool = int('revoke-pool', values['revoke-pool'], 1, 2_000_000)
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/10'
for (const u of [databaseUrl, redisUrl]) if (!LOOPBACK.has(new URL(u).hostname)) usage(`${u.replace(/\/\/[^@/]*@/, '//***@')} must point at 127.0.0.1 or ::1`)

const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 30_000 })

async function post(url: string, path: string, body: string, jwt?: string): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (jwt !== undefined) headers.authorization = `Bearer ${jwt}`
  const res = await request(`${url}${path}`, { method: 'POST', headers, body, dispatcher })
  return { status: res.statusCode, text: await res.body.text() }
}

async function get(url: string, path: string): Promise<string> {
  const res = await request(`${url}${path}`, { method: 'GET', dispatcher })
  const text = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`GET ${path} answered ${res.statusCode}`)
  return text
}

/** Issue `n` tokens through POST /token, 64 at a time (outside any measured window). */
async function issueMany(url: string, n: number): Promise<string[]> {
  const out: string[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++
      const r = await post(url, `${BASE}/token`, CLIENT_BODY)
      if (r.status !== 200) throw new Error(`POST /token answered ${r.status} while seeding: ${r.text.slice(0, 200)}`)
      out.push((JSON.parse(r.text) as { access_token: string }).access_token)
    }
  }
  await Promise.all(Array.from({ length: 64 }, worker))
  return out
}

/** Wait until the batch writer has persisted everything (bounded), so windows start from rest. */
async function waitFlushed(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const s = JSON.parse(await get(url, '/debug/stats')) as { batchWriter: { pending: number } | null }
    if ((s.batchWriter?.pending ?? 0) === 0) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the batch writer did not flush within 30 s')
}

function metricValue(text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line)
    if (m && m[1] === name) sum += Number(m[2])
  }
  return sum
}

async function cacheCounts(url: string): Promise<{ hits: number; misses: number }> {
  const text = await get(url, '/metrics')
  return { hits: metricValue(text, 'authbench_cache_hits_total'), misses: metricValue(text, 'authbench_cache_misses_total') }
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
  }
  return xs
}

function loadSettings(maxRequests: number | null): LoadSettings {
  return { model: 'closed', durationMs, warmupMs, connections, pipelining: 1, rateRps: null, maxRequests, timeoutMs: 10_000 }
}

async function measure(round: number, backend: Backend, endpoint: Endpoint, target: TargetProcess, pools: { validate: string[]; revoke: string[] }): Promise<Window> {
  let nextRequest: () => RequestSpec
  let maxRequests: number | null = null
  if (endpoint === 'token') {
    nextRequest = () => ({ method: 'POST', path: `${BASE}/token`, headers: { 'content-type': 'application/json' }, body: CLIENT_BODY, expectedStatuses: [200] })
  } else if (endpoint === 'validate') {
    const order = shuffle([...pools.validate])
    let i = 0
    nextRequest = () => ({
      method: 'POST',
      path: `${BASE}/validate`,
      body: VALIDATE_BODY,
      expectedStatuses: [200],
      headers: { 'content-type': 'application/json', authorization: `Bearer ${order[i++ % order.length]!}` }
    })
  } else {
    const tokens = pools.revoke
    let i = 0
    // Never the same token twice: the window ends when the pool does (maxRequests), and the few
    // requests autocannon prepares past that point repeat the last token and are not measured.
    maxRequests = Math.max(1, tokens.length - connections * 2)
    nextRequest = () => ({
      method: 'POST',
      path: `${BASE}/revoke`,
      expectedStatuses: [200],
      headers: { authorization: `Bearer ${tokens[Math.min(i++, tokens.length - 1)]!}` }
    })
  }
  const before = endpoint === 'validate' ? await cacheCounts(target.url) : null
  const outcome = await new ClosedDriver().run({ url: target.url, load: loadSettings(maxRequests), nextRequest })
  const after = endpoint === 'validate' ? await cacheCounts(target.url) : null
  const lat = summarizeEncoded(outcome.histogram)
  const hits = before && after ? after.hits - before.hits : 0
  const misses = before && after ? after.misses - before.misses : 0
  const w: Window = {
    round,
    backend,
    endpoint,
    rps: outcome.requests / (outcome.durationMs / 1000),
    requests: outcome.requests,
    non2xx: outcome.requests - outcome.successes,
    p50Us: lat.p50,
    p99Us: lat.p99,
    hitRate: endpoint === 'validate' ? hits / Math.max(1, hits + misses) : null
  }
  console.error(
    `round ${round} ${backend.padEnd(8)} ${endpoint.padEnd(8)} ${Math.round(w.rps).toString().padStart(6)} req/s  p50 ${w.p50Us} µs  p99 ${w.p99Us} µs  non-2xx ${w.non2xx}${w.hitRate === null ? '' : `  hit rate ${(w.hitRate * 100).toFixed(1)}%`}`
  )
  return w
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const uptime = (): string => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim()
  } catch {
    return 'uptime unavailable'
  }
}

/** Starts both targets on core 0 into `targets` (so that the caller stops whichever started) and checks the real backends are in use. */
async function startTargets(targets: Map<Backend, TargetProcess>, schema: string): Promise<void> {
  const schemaUrl = new URL(databaseUrl)
  // libpq's startup option: every connection of the target's pool (and its migrations) uses the schema.
  schemaUrl.searchParams.set('options', `-c search_path=${schema}`)
  const common = { PRESET: 'phase2', JWT_SECRET: SECRET, LOG_LEVEL: 'error', SWEEPER_INTERVAL_MS: '0' }
  targets.set('embedded', await startTarget({ ...referenceTarget(common), port: 0, pinCpus: '0' }))
  targets.set('pg+redis', await startTarget({ ...referenceTarget({ ...common, DATABASE_URL: schemaUrl.toString(), REDIS_URL: redisUrl }), port: 0, pinCpus: '0' }))
  const stats = JSON.parse(await get(targets.get('pg+redis')!.url, '/debug/stats')) as { store: string; cache: { kind: string } }
  if (stats.store !== 'postgres' || stats.cache.kind !== 'tiered') throw new Error(`pg+redis target runs ${stats.store} + ${stats.cache.kind}`)
}

/** `n` fresh tokens per backend, each backend's issued and flushed before the next one's. */
async function issuePools(targets: ReadonlyMap<Backend, TargetProcess>, n: number): Promise<Map<Backend, string[]>> {
  const pools = new Map<Backend, string[]>()
  for (const b of BACKENDS) {
    pools.set(b, await issueMany(targets.get(b)!.url, n))
    await waitFlushed(targets.get(b)!.url)
  }
  return pools
}

/** Every round's windows: endpoint by endpoint, both backends, the backend order alternating per round. */
async function runRounds(targets: ReadonlyMap<Backend, TargetProcess>): Promise<Window[]> {
  const validatePools = await issuePools(targets, validatePool)
  const windows: Window[] = []
  for (let round = 1; round <= rounds; round++) {
    // The revoke pools of this round, issued and flushed before any window of the round.
    const revokePools = await issuePools(targets, revokePool)
    for (const endpoint of ENDPOINTS) {
      const order = round % 2 === 1 ? BACKENDS : [...BACKENDS].reverse()
      for (const b of order) {
        windows.push(await measure(round, b, endpoint, targets.get(b)!, { validate: validatePools.get(b)!, revoke: revokePools.get(b)! }))
        if (endpoint === 'token') await waitFlushed(targets.get(b)!.url)
      }
    }
  }
  return windows
}

interface RunInfo {
  schema: string
  pinned: Array<string | null>
  generatorCpus: string | null
  loadBefore: string
  loadAfter: string
}

/** The markdown report: how it was measured, the medians over rounds, then every window. */
function renderReport(windows: readonly Window[], { schema, pinned, generatorCpus, loadBefore, loadAfter }: RunInfo): string {
  const of = (b: Backend, e: Endpoint) => windows.filter((w) => w.backend === b && w.endpoint === e)
  const ratio = (e: Endpoint) =>
    median(
      Array.from({ length: rounds }, (_, i) => {
        const pgw = of('pg+redis', e).find((w) => w.round === i + 1)!
        const emb = of('embedded', e).find((w) => w.round === i + 1)!
        return pgw.rps / emb.rps
      })
    )
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
  const pct = (n: number | null) => (n === null ? '–' : `${(n * 100).toFixed(1)}%`)
  const lines: string[] = []
  lines.push('# Real backends vs embedded default (PRESET=phase2)', '')
  lines.push(
    `Command: \`node --import tsx scripts/bench-backends.ts --rounds ${rounds} --duration-s ${durationMs / 1000} --connections ${connections} --validate-pool ${validatePool} --revoke-pool ${revokePool}\``,
    ''
  )
  lines.push(
    `Date: ${new Date().toISOString()}. Node ${process.version}. Targets pinned to CPU ${pinned.join(', ') || 'none'}; generator pinned to CPU ${generatorCpus ?? 'none'}; PostgreSQL and Redis unpinned.`
  )
  lines.push(
    `Closed model, ${connections} connections, ${warmupMs / 1000} s warm-up + ${durationMs / 1000} s per window, ${rounds} rounds interleaved per endpoint (backend order alternating). Latency in µs per response (harness ClosedDriver).`
  )
  lines.push(`pg+redis: DATABASE_URL (schema ${schema}) + REDIS_URL ${redisUrl} → store postgres, cache tiered. embedded: memory store, LRU cache.`)
  lines.push(
    `Validate: ${fmt(validatePool)} distinct live tokens in a shuffled order per window. Revoke: ${fmt(revokePool)} fresh tokens per round and backend, each revoked once.`,
    ''
  )
  lines.push(`Load average before: \`${loadBefore}\``, `Load average after: \`${loadAfter}\``, '')
  lines.push('## Medians over rounds', '')
  lines.push('| endpoint | embedded req/s | pg+redis req/s | ratio pg+redis / embedded | embedded p99 µs | pg+redis p99 µs | embedded cache hit rate | pg+redis cache hit rate |')
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const e of ENDPOINTS) {
    const emb = of('embedded', e)
    const pgw = of('pg+redis', e)
    const hit = (ws: Window[]) => (e === 'validate' ? median(ws.map((w) => w.hitRate ?? 0)) : null)
    lines.push(
      `| ${e} | ${fmt(median(emb.map((w) => w.rps)))} | ${fmt(median(pgw.map((w) => w.rps)))} | ${ratio(e).toFixed(3)} | ${fmt(median(emb.map((w) => w.p99Us)))} | ${fmt(median(pgw.map((w) => w.p99Us)))} | ${pct(hit(emb))} | ${pct(hit(pgw))} |`
    )
  }
  lines.push('', '## Every window', '')
  lines.push('| round | endpoint | backend | req/s | requests | non-2xx | p50 µs | p99 µs | cache hit rate |')
  lines.push('|---:|---|---|---:|---:|---:|---:|---:|---:|')
  for (const w of windows)
    lines.push(`| ${w.round} | ${w.endpoint} | ${w.backend} | ${fmt(w.rps)} | ${fmt(w.requests)} | ${w.non2xx} | ${fmt(w.p50Us)} | ${fmt(w.p99Us)} | ${pct(w.hitRate)} |`)
  const bad = windows.filter((w) => w.non2xx > 0)
  if (bad.length > 0) lines.push('', `Warning: ${bad.length} window(s) had non-2xx answers; their throughput includes them.`)
  return `${lines.join('\n')}\n`
}

async function main(): Promise<void> {
  const generatorCpus = await pinGenerator('1')
  const loadBefore = uptime()
  const schema = `bench_backends_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: databaseUrl })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${schema}`)
  await deleteTargetKeys(redisUrl)
  const targets = new Map<Backend, TargetProcess>()
  try {
    await startTargets(targets, schema)
    const pinned = [...targets.values()].map((t) => t.pinnedCpus)
    const windows = await runRounds(targets)
    const md = renderReport(windows, { schema, pinned, generatorCpus, loadBefore, loadAfter: uptime() })
    process.stdout.write(md)
    await mkdir(dirname(values.out), { recursive: true })
    await writeFile(values.out, md)
    console.error(`written ${values.out}`)
  } finally {
    await Promise.all([...targets.values()].map((t) => t.stop()))
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {})
    await admin.end()
    await deleteTargetKeys(redisUrl).catch(() => {})
    await dispatcher.close()
  }
}

await main().catch((err: unknown) => {
  console.error(`bench-backends: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exitCode = 1
})
