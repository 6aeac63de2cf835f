// The token batch writer: tokens are persisted in batches by size or interval. A failed flush is
// retried with backoff and never dropped, since every pending token was already answered 200; and
// the number of pending tokens is bounded: past the bound, `add` refuses (the route answers 503
// with Retry-After) instead of growing memory without limit while the database is down.
// Validation never needs a token's row, so a token is valid the moment it is issued.
import type { TokenRecord, TokenStore } from '../domain.ts'
import { AuthError } from '../errors.ts'
import { backoffMs, sleep } from './backoff.ts'

export interface BatchWriterOptions {
  batchSize: number
  flushIntervalMs: number
  maxPending: number
  retryBaseMs: number
  retryMaxMs: number
}

export interface BatchWriterStats {
  pending: number
  maxPending: number
  batchSize: number
  flushIntervalMs: number
  flushes: number
  flushFailures: number
  tokensFlushed: number
  consecutiveFailures: number
  lastFlushAt: string | null
  lastError: string | null
  rejected: number
}

export interface BatchWriterHooks {
  onFlush?: (tokens: number, durationMs: number) => void
  onFlushError?: (err: unknown, attempt: number) => void
}

export class TokenBatchWriter {
  // Tokens stay in the buffer until their INSERT succeeded, so a crash-free failure loses nothing.
  private buffer: TokenRecord[] = []
  private flushing: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private closing = false
  private readonly abort = new AbortController()
  private readonly s = { flushes: 0, flushFailures: 0, tokensFlushed: 0, consecutiveFailures: 0, lastFlushAtMs: 0, lastError: null as string | null, rejected: 0 }

  constructor(
    private readonly store: TokenStore,
    private readonly options: BatchWriterOptions,
    private readonly hooks: BatchWriterHooks = {}
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(true), this.options.flushIntervalMs)
    this.timer.unref()
  }

  /** Queue a token for persistence; throws a 503 AuthError when the pending bound is reached. */
  add(record: TokenRecord): void {
    // After close() nothing would flush it: refuse, so that no token is handed out unpersisted.
    if (this.closing) throw new AuthError('SHUTTING_DOWN', { retryAfterS: 1 })
    if (this.buffer.length >= this.options.maxPending) {
      this.s.rejected++
      throw new AuthError('BATCH_BACKPRESSURE', { retryAfterS: Math.max(1, Math.ceil(this.options.flushIntervalMs / 1000)) })
    }
    this.buffer.push(record)
    if (this.buffer.length >= this.options.batchSize) this.kick(false)
  }

  get pending(): number {
    return this.buffer.length
  }

  private kick(force: boolean): void {
    if (this.flushing) return
    this.flushing = this.flushLoop(force, Number.POSITIVE_INFINITY).finally(() => {
      this.flushing = null
      // Tokens added while the loop finished may already fill a batch.
      if (!this.closing && this.buffer.length >= this.options.batchSize) this.kick(false)
    })
  }

  private async flushLoop(force: boolean, deadlineMs: number): Promise<void> {
    while (this.buffer.length >= this.options.batchSize || (force && this.buffer.length > 0)) {
      const batch = this.buffer.slice(0, this.options.batchSize)
      const startedMs = performance.now()
      try {
        await this.store.insertTokens(batch)
      } catch (err) {
        this.s.flushFailures++
        this.s.consecutiveFailures++
        this.s.lastError = err instanceof Error ? err.message : String(err)
        this.hooks.onFlushError?.(err, this.s.consecutiveFailures)
        if (Date.now() >= deadlineMs) throw err
        await sleep(backoffMs(this.s.consecutiveFailures, this.options.retryBaseMs, this.options.retryMaxMs), this.closing ? undefined : this.abort.signal)
        continue
      }
      // Remove exactly the rows written; tokens added meanwhile were appended behind them.
      this.buffer.splice(0, batch.length)
      this.s.consecutiveFailures = 0
      this.s.flushes++
      this.s.tokensFlushed += batch.length
      this.s.lastFlushAtMs = Date.now()
      this.hooks.onFlush?.(batch.length, performance.now() - startedMs)
    }
  }

  /** Flush everything pending now (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing
    await this.flushLoop(true, Number.POSITIVE_INFINITY)
  }

  /**
   * Stop the timer and persist every pending token, retrying until `deadlineMs` (epoch ms).
   * Throws, naming how many tokens are still unpersisted, only if the store never recovers.
   */
  async close(deadlineMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.closing = true
    if (this.timer) clearInterval(this.timer)
    this.abort.abort()
    while (this.flushing) await this.flushing.catch(() => undefined)
    try {
      await this.flushLoop(true, deadlineMs)
    } catch (err) {
      throw new Error(`batch writer: ${this.buffer.length} tokens could not be persisted before the shutdown deadline`, { cause: err })
    }
  }

  stats(): BatchWriterStats {
    return {
      pending: this.buffer.length,
      maxPending: this.options.maxPending,
      batchSize: this.options.batchSize,
      flushIntervalMs: this.options.flushIntervalMs,
      flushes: this.s.flushes,
      flushFailures: this.s.flushFailures,
      tokensFlushed: this.s.tokensFlushed,
      consecutiveFailures: this.s.consecutiveFailures,
      lastFlushAt: this.s.lastFlushAtMs ? new Date(this.s.lastFlushAtMs).toISOString() : null,
      lastError: this.s.lastError,
      rejected: this.s.rejected
    }
  }
}
