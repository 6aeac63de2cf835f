// The expired-token sweeper: on an interval, delete expired rows in batches through
// the store, pause between batches so the sweep never monopolises the database, and stop when a
// batch comes back short. With several instances a SweepLock lets one of them run each tick.
import type { SweepLock, TokenStore } from '../domain.ts'
import { sleep } from './backoff.ts'

export interface SweeperOptions {
  intervalMs: number
  batchSize: number
  pauseMs: number
  /** Rows are deleted only once expired for this long, so a clock skew never deletes a live token. */
  graceMs: number
}

export interface SweepRun {
  startedAt: string
  durationMs: number
  deleted: number
  batches: number
  /** True when another instance held the lock and this tick did nothing. */
  skipped: boolean
  error: string | null
}

/** How many of the last runs `stats()` keeps, at a few hundred bytes each. */
export const RECENT_RUNS = 256

export class Sweeper {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<SweepRun> | null = null
  private readonly abort = new AbortController()
  private last: SweepRun | null = null
  // The last runs, oldest first: a reader that polls /debug/stats slower than a tick (a loaded
  // machine) still sees every run, which is what a check of "never two sweeps at once" needs.
  private readonly recent: SweepRun[] = []
  private runs = 0
  private deletedTotal = 0
  private skippedTotal = 0

  constructor(
    private readonly store: TokenStore,
    private readonly lock: SweepLock,
    private readonly options: SweeperOptions,
    private readonly onRun: (run: SweepRun) => void = () => {}
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize <= 0) throw new RangeError(`sweeper batch size must be a positive integer, got ${options.batchSize}`)
  }

  start(): void {
    if (this.options.intervalMs <= 0) return
    this.timer = setInterval(() => void this.runOnce(), this.options.intervalMs)
    this.timer.unref()
  }

  /** One tick: sweep if this instance wins the lock. Concurrent calls share one run. */
  runOnce(): Promise<SweepRun> {
    this.running ??= this.sweep().finally(() => {
      this.running = null
    })
    return this.running
  }

  private async sweep(): Promise<SweepRun> {
    const startedMs = Date.now()
    const run: SweepRun = { startedAt: new Date(startedMs).toISOString(), durationMs: 0, deleted: 0, batches: 0, skipped: false, error: null }
    try {
      const ran = await this.lock.runExclusive(async (signal) => {
        while (!signal.aborted && !this.abort.signal.aborted) {
          const n = await this.store.deleteExpiredBatch(Date.now() - this.options.graceMs, this.options.batchSize)
          run.batches++
          run.deleted += n
          if (n < this.options.batchSize) break
          await sleep(this.options.pauseMs, this.abort.signal)
        }
      })
      run.skipped = !ran
    } catch (err) {
      run.error = err instanceof Error ? err.message : String(err)
    }
    run.durationMs = Date.now() - startedMs
    this.runs++
    this.deletedTotal += run.deleted
    if (run.skipped) this.skippedTotal++
    this.last = run
    this.recent.push(run)
    if (this.recent.length > RECENT_RUNS) this.recent.shift()
    this.onRun(run)
    return run
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.abort.abort()
    await this.running?.catch(() => undefined)
  }

  stats(): { intervalMs: number; batchSize: number; pauseMs: number; runs: number; deletedTotal: number; skippedTotal: number; lastRun: SweepRun | null; recentRuns: SweepRun[] } {
    return {
      intervalMs: this.options.intervalMs,
      batchSize: this.options.batchSize,
      pauseMs: this.options.pauseMs,
      runs: this.runs,
      deletedTotal: this.deletedTotal,
      skippedTotal: this.skippedTotal,
      lastRun: this.last,
      recentRuns: [...this.recent]
    }
  }
}
