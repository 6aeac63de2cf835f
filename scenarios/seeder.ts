// Seeds scenario data through the target: issues access tokens or one-time tokens, in batches
// through the target's seeding route (POST …/debug/tokens, thousands per call) when it has one, or
// one /token (or /ott) request at a time with bounded concurrency when it does not (another
// service, an older ref's target). Node-only (k6 seeds in its own setup()).
import { setMaxListeners } from 'node:events'
import { Pool } from 'undici'
import { BASE_PATH, BENCH_CLIENT, ENDPOINTS, JSON_HEADERS, credentialsBody } from './catalog.ts'
import type { ClientCredentials } from './catalog.ts'
import { SetupFailedError } from './errors.ts'

export type IssueKind = 'token' | 'ott'

export interface IssueOptions {
  url: string
  kind: IssueKind
  count: number
  concurrency: number
  client?: ClientCredentials
  signal?: AbortSignal
  /** Give up when one issue keeps failing this long (429/503 backpressure is retried until then). */
  retryBudgetMs?: number
  /** Try the target's batch seeding route first (default true). */
  bulk?: boolean
}

export const BULK_SEED_PATH = `${BASE_PATH}/debug/tokens`
/** Tokens per seeding call: ~0.5 MB of JSON, well under the target's cap (MAX_SEED_BATCH). */
const BULK_BATCH = 2_000
/** Two calls in flight: the target issues one batch while the seeder parses the other. */
const BULK_CONCURRENCY = 2

const BACKOFF_START_MS = 5
const BACKOFF_MAX_MS = 200

/** Issue `count` tokens; resolves with the JWTs (in no promised order). Throws SetupFailedError naming why. */
export async function issueTokens(options: IssueOptions): Promise<string[]> {
  const { url, kind, count } = options
  if (count <= 0) return []
  const abort = followAbort(options.signal)
  const ctx: IssueContext = { kind, signal: abort.signal, retryBudgetMs: options.retryBudgetMs ?? 10_000, credentials: options.client ?? BENCH_CLIENT }
  const out: string[] = []
  let pool = newPool(url, BULK_CONCURRENCY)
  try {
    if (options.bulk === false || !(await issueInBulk(ctx, pool, count, out))) {
      // One token per request for what the seeding route did not cover.
      await pool.destroy().catch(() => undefined)
      const concurrency = Math.max(1, Math.min(options.concurrency, count))
      pool = newPool(url, concurrency)
      await issueOneByOne(ctx, pool, count - out.length, concurrency, out)
    }
  } catch (err) {
    if (err instanceof SetupFailedError) throw err
    if (ctx.signal.aborted) throw err
    throw new SetupFailedError(`could not seed ${kind}s at ${url}: ${(err as Error).message}`, { cause: err })
  } finally {
    abort.unfollow()
    await pool.destroy().catch(() => undefined)
  }
  return out
}

interface IssueContext {
  kind: IssueKind
  /** Aborts every in-flight request of this issueTokens call. */
  signal: AbortSignal
  retryBudgetMs: number
  credentials: ClientCredentials
}

function newPool(url: string, connections: number): Pool {
  return new Pool(url, { connections, pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000 })
}

/**
 * One local signal for all workers: every in-flight request listens to it, more than the default
 * ten listeners, and the caller's signal then needs only one listener of its own.
 */
function followAbort(caller: AbortSignal | undefined): { signal: AbortSignal; unfollow: () => void } {
  const local = new AbortController()
  setMaxListeners(0, local.signal)
  const onAbort = (): void => local.abort(caller?.reason)
  if (caller?.aborted === true) onAbort()
  caller?.addEventListener('abort', onAbort, { once: true })
  return { signal: local.signal, unfollow: () => caller?.removeEventListener('abort', onAbort) }
}

type Attempt<T> = () => Promise<{ status: number; text: string; value?: T }>

/** Backpressure (429 queue, 503 batch/revocation) is the target protecting itself: wait and retry. */
async function retrying<T>(ctx: IssueContext, what: string, notFoundOk: boolean, attempt: Attempt<T>): Promise<{ status: number; value?: T }> {
  const started = Date.now()
  let backoffMs = BACKOFF_START_MS
  for (;;) {
    ctx.signal.throwIfAborted()
    const r = await attempt()
    if (r.status === 200 || (notFoundOk && r.status === 404)) return r
    if (!(r.status === 429 || r.status === 503) || Date.now() - started > ctx.retryBudgetMs) {
      throw new SetupFailedError(`${what} answered ${r.status} while seeding ${ctx.kind}s: ${r.text.slice(0, 200)}`)
    }
    await new Promise((res) => setTimeout(res, backoffMs))
    backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2)
  }
}

/** Batches of `count` tokens through the seeding route, pushed onto `out`; false when the target has none. */
async function issueInBulk(ctx: IssueContext, pool: Pool, count: number, out: string[]): Promise<boolean> {
  const { credentials, kind, signal } = ctx
  let wanted = count
  let supported = true
  const worker = async (): Promise<void> => {
    while (supported && wanted > 0) {
      const n = Math.min(BULK_BATCH, wanted)
      wanted -= n
      const bulkBody = JSON.stringify({
        grant_type: 'client_credentials',
        client_id: credentials.clientId,
        client_secret: credentials.clientSecret,
        token_type: kind === 'ott' ? 'ott' : 'access',
        count: n
      })
      const r = await retrying<string[]>(ctx, BULK_SEED_PATH, true, async () => {
        const res = await pool.request({ method: 'POST', path: BULK_SEED_PATH, headers: JSON_HEADERS, body: bulkBody, signal })
        const text = await res.body.text()
        if (res.statusCode !== 200) return { status: res.statusCode, text }
        const tokens = (JSON.parse(text) as { access_tokens?: unknown }).access_tokens
        if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string')) throw new SetupFailedError(`${BULK_SEED_PATH} answered 200 without access_tokens`)
        return { status: 200, text: '', value: tokens as string[] }
      })
      if (r.status === 404) {
        supported = false
        wanted += n
        return
      }
      const tokens = r.value ?? []
      for (const t of tokens) out.push(t)
      wanted += n - tokens.length // stopped early at the writer's bound: ask again for the rest
    }
  }
  await Promise.all(Array.from({ length: BULK_CONCURRENCY }, worker))
  return supported
}

/** `left` tokens, one /token (or /ott) request each, `concurrency` at a time, pushed onto `out`. */
async function issueOneByOne(ctx: IssueContext, pool: Pool, left: number, concurrency: number, out: string[]): Promise<void> {
  const path = ENDPOINTS[ctx.kind].path
  const body = credentialsBody(ctx.credentials)
  const issueOne = async (): Promise<string> => {
    const r = await retrying<string>(ctx, path, false, async () => {
      const res = await pool.request({ method: 'POST', path, headers: JSON_HEADERS, body, signal: ctx.signal })
      const text = await res.body.text()
      if (res.statusCode !== 200) return { status: res.statusCode, text }
      const token = (JSON.parse(text) as { access_token?: unknown }).access_token
      if (typeof token !== 'string') throw new SetupFailedError(`${path} answered 200 without an access_token`)
      return { status: 200, text: '', value: token }
    })
    return r.value as string
  }
  let next = 0
  const worker = async (): Promise<void> => {
    while (next++ < left) out.push(await issueOne())
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, left) }, worker))
}

/**
 * A FIFO of consumable tokens. Taking from an empty pool hands back the last token again and counts
 * it, so the engine can say the pool ran dry instead of silently measuring a different path.
 */
export class ConsumablePool {
  private items: string[] = []
  private head = 0
  private last: string | null = null
  exhausted = 0

  get remaining(): number {
    return this.items.length - this.head
  }

  add(tokens: readonly string[]): void {
    if (this.head > 0) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    for (const t of tokens) this.items.push(t)
  }

  take(): string {
    if (this.head < this.items.length) {
      const t = this.items[this.head] as string
      // Drop the reference so a long run's spent tokens can be collected.
      this.items[this.head] = ''
      this.head++
      this.last = t
      return t
    }
    this.exhausted++
    return this.last ?? 'pool-empty'
  }
}

/** A consumable pool that knows how to top itself up through the public API, within a cap. */
export class TokenSupply {
  readonly pool = new ConsumablePool()
  seeded = 0
  setupMs = 0

  constructor(
    private readonly kind: IssueKind,
    private readonly url: string,
    private readonly maxPoolSize: number,
    private readonly concurrency: number
  ) {}

  /** Make at least `count` unused items available (never more than maxPoolSize at once). */
  async ensure(count: number, signal?: AbortSignal): Promise<void> {
    const need = Math.min(Math.ceil(count), this.maxPoolSize) - this.pool.remaining
    if (need <= 0) return
    const started = Date.now()
    const tokens = await issueTokens({ url: this.url, kind: this.kind, count: need, concurrency: this.concurrency, signal })
    this.pool.add(tokens)
    this.seeded += tokens.length
    this.setupMs += Date.now() - started
  }
}
