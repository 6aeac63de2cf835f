// The fault suite's common parts: load from the harness's own open-model driver (requests on a
// fixed schedule, every answer handed back so a case can collect what the target promised), the
// figures each case records for the "Reliability" table in docs/reliability.md, and small SQL and HTTP helpers.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { OpenDriver } from '../../harness/engine/drivers/open.ts'
import type { DriverOutcome, RequestSpec } from '../../harness/engine/drivers/types.ts'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'
export { sleep, waitFor } from '../helpers/time.ts'

export const BASE = '/auth-server/v1/oauth'
export const CLIENT_BODY = JSON.stringify({ grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'test-secret-123' })
export const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json' })

export interface LoadOptions {
  rateRps: number
  durationMs: number
  connections?: number
  timeoutMs?: number
  signal?: AbortSignal
}

/** Constant-rate load over the harness's OpenDriver; `next` builds each request (with its onResponse). */
export function runLoad(url: string, opts: LoadOptions, next: () => RequestSpec): Promise<DriverOutcome> {
  const driver = new OpenDriver({ lateThresholdUs: 5_000 })
  return driver.run({
    url,
    load: {
      model: 'open',
      durationMs: opts.durationMs,
      warmupMs: 0,
      connections: opts.connections ?? 64,
      pipelining: 1,
      rateRps: opts.rateRps,
      maxRequests: null,
      timeoutMs: opts.timeoutMs ?? 10_000
    },
    nextRequest: next,
    ...(opts.signal ? { signal: opts.signal } : {})
  })
}

export function tokenIdOf(jwt: string): string {
  const part = jwt.split('.')[1] ?? ''
  return (JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { token_id: string }).token_id
}

/** The 5xx answers in a driver outcome, by status. */
export function fiveXx(outcome: DriverOutcome): number {
  return Object.entries(outcome.statusCounts)
    .filter(([s]) => Number(s) >= 500)
    .reduce((n, [, c]) => n + c, 0)
}

/** One row of the "Reliability" table in docs/reliability.md: what a case injected, under what load, and what it measured. */
export interface ReliabilityRow {
  id: string
  /** Sort key in the table. */
  order: number
  fault: string
  load: string
  /** What was lost, as counted (goal 0), e.g. "0 of 4,812 tokens answered 200". */
  lost: string
  /** Time to recover after the fault ended, ms (null when nothing had to recover). */
  recoverMs: number | null
  /** 5xx answers during the case, and which: "0", "212 (all 503 + Retry-After)". */
  fiveXx: string
  passed: boolean
  notes?: string
}

export const RESULTS_DIR = join(REPO_ROOT, 'reports', 'resilience')

/** Write a case's row to reports/resilience/<id>.json (temp file + rename, so a reader never sees half). */
export function recordRow(row: ReliabilityRow): void {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, `${row.id}.json`)
  const tmp = `${file}.${process.pid}.tmp`
  const [l1, l5] = loadavg()
  writeFileSync(tmp, `${JSON.stringify({ ...row, measuredAt: new Date().toISOString(), loadAverage: [round2(l1 ?? 0), round2(l5 ?? 0)] }, null, 2)}\n`)
  renameSync(tmp, file)
}

const round2 = (n: number): number => Math.round(n * 100) / 100

export const fmt = (n: number): string => n.toLocaleString('en-US')

/** What a token + revoke mix was answered: the ids of tokens issued (200) and of revocations accepted (200). */
export interface MixTally {
  issued: string[]
  issuedJwts: string[]
  revoked: string[]
  statuses: Record<string, number>
  /** Non-200 answers that were not 503 with a Retry-After header. */
  badNon200: number
  lastNon200AtMs: number
}

export function newTally(): MixTally {
  return { issued: [], issuedJwts: [], revoked: [], statuses: {}, badNon200: 0, lastNon200AtMs: 0 }
}

function note(t: MixTally, status: number, headers: Record<string, string | string[] | undefined>): void {
  t.statuses[status] = (t.statuses[status] ?? 0) + 1
  if (status === 200) return
  t.lastNon200AtMs = Date.now()
  if (!(status === 503 && headers['retry-after'] !== undefined)) t.badNon200++
}

/** A request issuing a token; a 200 adds its id to the tally. */
export function tokenSpec(t: MixTally): RequestSpec {
  return {
    method: 'POST',
    path: `${BASE}/token`,
    headers: JSON_HEADERS,
    body: CLIENT_BODY,
    expectedStatuses: [200],
    tag: 'token',
    onResponse: (status, headers, body) => {
      note(t, status, headers)
      if (status !== 200) return
      const jwt = (JSON.parse(body.toString('utf8')) as { access_token: string }).access_token
      t.issued.push(tokenIdOf(jwt))
      t.issuedJwts.push(jwt)
    }
  }
}

/** A request revoking `jwt`; a 200 adds its id to the tally. */
export function revokeSpec(t: MixTally, jwt: string): RequestSpec {
  return {
    method: 'POST',
    path: `${BASE}/revoke`,
    headers: { authorization: `Bearer ${jwt}` },
    expectedStatuses: [200],
    tag: 'revoke',
    onResponse: (status, headers) => {
      note(t, status, headers)
      if (status === 200) t.revoked.push(tokenIdOf(jwt))
    }
  }
}

/** Mint `count` tokens through the seeding route (5,000 a call). */
export async function seedTokens(url: string, count: number): Promise<string[]> {
  const out: string[] = []
  while (out.length < count) {
    const n = Math.min(5_000, count - out.length)
    const res = await fetch(`${url}${BASE}/debug/tokens`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ ...(JSON.parse(CLIENT_BODY) as object), count: n }) })
    if (res.status !== 200) throw new Error(`seeding answered ${res.status}: ${await res.text()}`)
    out.push(...((await res.json()) as { access_tokens: string[] }).access_tokens)
  }
  return out
}

/** Of `ids`, how many have a row in `tokens` (and, with `where`, match it). */
export async function countRows(sql: { query: (q: string, p: unknown[]) => Promise<{ rows: Array<{ n: number }> }> }, ids: readonly string[], where = 'TRUE'): Promise<number> {
  const { rows } = await sql.query(`SELECT count(*)::int AS n FROM tokens WHERE token_id = ANY($1) AND ${where}`, [ids])
  return rows[0]?.n ?? 0
}

/** The target's AUTH_SHUTDOWN_SUMMARY log line (pino JSON on stdout), or null. */
export function shutdownSummary(output: string): Record<string, number | null> | null {
  const line = output
    .split('\n')
    .reverse()
    .find((l) => l.includes('"AUTH_SHUTDOWN_SUMMARY"'))
  return line === undefined ? null : (JSON.parse(line) as Record<string, number | null>)
}
