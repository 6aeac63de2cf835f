// Shared by the multi-instance tests: real target processes (harness/engine/target-process.ts) on one
// PostgreSQL schema and one Redis database of their own, plain HTTP calls to them, SQL on the same
// schema, and a TCP proxy that plays "Redis went away" without touching the machine's Redis.
import net from 'node:net'
import { deleteTargetKeys } from '../../../target/cache/redis.ts'
import pg from 'pg'
import { Agent, request } from 'undici'
import { startTarget } from '../../../harness/engine/target-process.ts'
import type { TargetProcess } from '../../../harness/engine/target-process.ts'
import { assertIdentifier } from '../../../target/stores/sql-client.ts'
import { referenceTarget } from '../../../scenarios/reference-target.ts'

export const BASE = '/auth-server/v1/oauth'
/** Separate processes only accept each other's tokens with one shared secret. */
export const SECRET = 'authbench-multi-instance-secret-0123456789abcdef'
export const CLIENT = { grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'test-secret-123' } as const

export { sleep, waitFor } from '../../helpers/time.ts'

/**
 * The database URL with `options=-c search_path=<schema>`: libpq's connection option, which
 * node-postgres passes in the startup packet, so every pooled connection of the target (and the
 * migration runner, which creates its tables in current_schema()) lives in the schema. The schema
 * must exist first: with a search_path naming only a missing schema, CREATE TABLE fails ("no schema
 * has been selected") instead of silently writing to public.
 */
export function schemaUrl(databaseUrl: string, schema: string): string {
  const u = new URL(databaseUrl)
  u.searchParams.set('options', `-c search_path=${assertIdentifier(schema)}`)
  return u.toString()
}

/**
 * The Redis URL on database `db`. The target's cache keys and lock key have a fixed prefix
 * (`authbench:`), so a database number of its own is what keeps a test file's keys apart from the
 * other suites (which use db 15 with per-run prefixes).
 */
export function redisDbUrl(redisUrl: string, db: number): string {
  const u = new URL(redisUrl)
  u.pathname = `/${db}`
  return u.toString()
}

/** Create the schema; returns a client on it and a cleanup that drops it. */
export async function openSchema(databaseUrl: string, schema: string): Promise<{ sql: pg.Pool; drop: () => Promise<void> }> {
  const admin = new pg.Client({ connectionString: databaseUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${assertIdentifier(schema)}`)
  } finally {
    await admin.end()
  }
  const sql = new pg.Pool({ connectionString: schemaUrl(databaseUrl, schema), max: 4 })
  sql.on('error', () => {})
  return {
    sql,
    drop: async () => {
      await sql.end().catch(() => {})
      const c = new pg.Client({ connectionString: databaseUrl })
      await c.connect()
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${assertIdentifier(schema)} CASCADE`)
      } finally {
        await c.end()
      }
    }
  }
}

/** Delete the target's keys in the test's Redis database (never FLUSHDB). */
export const clearRedisDb = (url: string): Promise<void> => deleteTargetKeys(url)

/** Start a target with the shared secret, unpinned (tests share the machine), quiet logs. */
export function startInstance(env: Record<string, string>, opts: { stopTimeoutMs?: number } = {}): Promise<TargetProcess> {
  return startTarget({
    ...referenceTarget(),
    port: 0,
    pinCpus: null,
    readyTimeoutMs: 90_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 15_000,
    env: {
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'warn',
      // The request queue's 100 ms admission timeout would turn a burst on a busy machine into 429s,
      // which are not what these tests are about.
      QUEUE_TIMEOUT_MS: '10000',
      // Likewise event-loop shedding: on a shared core a descheduled process sees a long loop delay
      // and sheds a burst with 503; admission control has its own tests.
      SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
      ...env
    }
  })
}

// Enough connections that 100+ concurrent requests are really concurrent, and keep-alive so that
// "the next request" goes out at once instead of paying a handshake.
const dispatcher = new Agent({ connections: 200, pipelining: 1, keepAliveTimeout: 30_000 })

export interface Reply {
  status: number
  body: string
}

export async function call(baseUrl: string, method: 'GET' | 'POST', path: string, opts: { jwt?: string; json?: unknown } = {}): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (opts.jwt !== undefined) headers.authorization = `Bearer ${opts.jwt}`
  if (opts.json !== undefined) headers['content-type'] = 'application/json'
  const res = await request(`${baseUrl}${path}`, {
    method,
    headers,
    dispatcher,
    headersTimeout: 20_000,
    bodyTimeout: 20_000,
    ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {})
  })
  return { status: res.statusCode, body: await res.body.text() }
}

export async function issue(baseUrl: string, kind: 'token' | 'ott' = 'token'): Promise<string> {
  const r = await call(baseUrl, 'POST', `${BASE}/${kind}`, { json: CLIENT })
  if (r.status !== 200) throw new Error(`POST /${kind} answered ${r.status}: ${r.body}`)
  return (JSON.parse(r.body) as { access_token: string }).access_token
}

export const validate = (baseUrl: string, jwt: string): Promise<Reply> => call(baseUrl, 'POST', `${BASE}/validate`, { jwt, json: { resource: '/quotes/ltp' } })
export const revoke = (baseUrl: string, jwt: string): Promise<Reply> => call(baseUrl, 'POST', `${BASE}/revoke`, { jwt })

export function tokenId(jwt: string): string {
  const part = jwt.split('.')[1] ?? ''
  return (JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { token_id: string }).token_id
}

export async function debugStats<T = Record<string, unknown>>(baseUrl: string): Promise<T> {
  const r = await call(baseUrl, 'GET', '/debug/stats')
  if (r.status !== 200) throw new Error(`/debug/stats answered ${r.status}`)
  return JSON.parse(r.body) as T
}

/** Sum of a metric's samples (every label set) in Prometheus text; 0 when absent. */
export function metricSum(text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line)
    if (m && m[1] === name) sum += Number(m[2])
  }
  return sum
}

export async function metrics(baseUrl: string): Promise<string> {
  const r = await call(baseUrl, 'GET', '/metrics')
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`)
  return r.body
}

/** A TCP proxy to Redis that can be cut (every socket destroyed, port closed) and restored on the same port. */
export class RedisProxy {
  private server: net.Server | null = null
  private readonly sockets = new Set<net.Socket>()
  port = 0
  constructor(private readonly upstream: URL) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(this.upstream.port || 6379), this.upstream.hostname)
      for (const s of [client, upstream]) {
        this.sockets.add(s)
        s.on('close', () => this.sockets.delete(s))
        s.on('error', () => {})
      }
      client.pipe(upstream).pipe(client)
    })
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as net.AddressInfo).port
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    const server = this.server
    this.server = null
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  url(): string {
    return `redis://127.0.0.1:${this.port}${this.upstream.pathname}`
  }
}

export async function closeDispatcher(): Promise<void> {
  await dispatcher.close()
}
