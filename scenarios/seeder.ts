// Seeds scenario data through the target's public API: issues access tokens or one-time tokens
// with bounded concurrency over one undici Pool. Node-only (k6 seeds in its own setup()).
import { setMaxListeners } from 'node:events'
import { Pool } from 'undici'
import { BENCH_CLIENT, ENDPOINTS, JSON_HEADERS, credentialsBody } from './catalog.ts'
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
}

const BACKOFF_START_MS = 5
const BACKOFF_MAX_MS = 200

/** Issue `count` tokens; resolves with the JWTs in issue order. Throws SetupFailedError naming why. */
export async function issueTokens(options: IssueOptions): Promise<string[]> {
  const { url, kind, count } = options
  if (count <= 0) return []
  // One local signal for all workers: every in-flight request listens to it, more than the
  // default ten listeners, and the caller's signal then needs only one listener of its own.
  const local = new AbortController()
  setMaxListeners(0, local.signal)
  const onAbort = (): void => local.abort(options.signal?.reason)
  if (options.signal?.aborted === true) onAbort()
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const signal = local.signal
  const concurrency = Math.max(1, Math.min(options.concurrency, count))
  const retryBudgetMs = options.retryBudgetMs ?? 10_000
  const path = ENDPOINTS[kind].path
  const body = credentialsBody(options.client ?? BENCH_CLIENT)
  const pool = new Pool(url, { connections: concurrency, pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000 })
  const out: string[] = new Array<string>(count)
  let next = 0

  const issueOne = async (): Promise<string> => {
    const started = Date.now()
    let backoffMs = BACKOFF_START_MS
    for (;;) {
      signal.throwIfAborted()
      const res = await pool.request({ method: 'POST', path, headers: JSON_HEADERS, body, signal })
      const text = await res.body.text()
      if (res.statusCode === 200) {
        const token = (JSON.parse(text) as { access_token?: unknown }).access_token
        if (typeof token !== 'string') throw new SetupFailedError(`${path} answered 200 without an access_token`)
        return token
      }
      // Backpressure (429 queue, 503 batch/revocation) is the target protecting itself: wait and retry.
      const retriable = res.statusCode === 429 || res.statusCode === 503
      if (!retriable || Date.now() - started > retryBudgetMs) {
        throw new SetupFailedError(`${path} answered ${res.statusCode} while seeding ${kind}s: ${text.slice(0, 200)}`)
      }
      await new Promise((r) => setTimeout(r, backoffMs))
      backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2)
    }
  }

  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++
      if (i >= count) return
      out[i] = await issueOne()
    }
  }

  try {
    await Promise.all(Array.from({ length: concurrency }, worker))
  } catch (err) {
    if (err instanceof SetupFailedError) throw err
    if (signal.aborted) throw err
    throw new SetupFailedError(`could not seed ${kind}s at ${url}: ${(err as Error).message}`, { cause: err })
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
    await pool.destroy().catch(() => undefined)
  }
  return out
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
