// The single-instance sweeper lock: one process, nobody to exclude, except an overlapping tick of
// this same process (a sweep slower than the interval), which skips like a second instance would.
import type { SweepLock } from '../domain.ts'

export class LocalSweepLock implements SweepLock {
  private running = false
  private readonly controller = new AbortController()

  async runExclusive(fn: (signal: AbortSignal) => Promise<void>): Promise<boolean> {
    if (this.running || this.controller.signal.aborted) return false
    this.running = true
    try {
      await fn(this.controller.signal)
      return true
    } finally {
      this.running = false
    }
  }

  /** Aborts a running sweep's signal, so shutdown does not wait for a long sweep to finish. */
  async close(): Promise<void> {
    this.controller.abort()
  }
}
