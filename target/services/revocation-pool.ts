// The revocation worker pool: revocations and OTT consumption are persisted off the request path by N workers, in batches, retried with
// backoff and never dropped. The caller makes the revocation effective in memory (and in the
// shared cache) before it submits, so the response never waits for the database.
import type { TokenRecord, TokenStore } from '../domain.ts'
import { backoffMs, sleep } from './backoff.ts'

export type RevocationJobKind = 'revoke' | 'ott'

export interface RevocationJob {
  kind: RevocationJobKind
  record: TokenRecord
  atMs: number
}

export interface RevocationPoolOptions {
  workers: number
  capacity: number
  batchSize: number
  retryBaseMs: number
  retryMaxMs: number
}

export interface RevocationPoolStats {
  workers: number
  capacity: number
  queued: number
  inFlight: number
  persisted: number
  failures: number
  rejected: number
  lastError: string | null
}

export class RevocationWorkerPool {
  private queue: RevocationJob[] = []
  private head = 0
  private inFlight = 0
  private wake: (() => void) | null = null
  private idleWaiters: Array<() => void> = []
  private stopping = false
  private readonly loops: Promise<void>[] = []
  private readonly s = { persisted: 0, failures: 0, rejected: 0, lastError: null as string | null }

  constructor(
    private readonly store: TokenStore,
    private readonly options: RevocationPoolOptions,
    /** Called once a job's state is durable in the store. */
    private readonly onPersisted: (job: RevocationJob) => void = () => {}
  ) {}

  start(): void {
    for (let i = 0; i < this.options.workers; i++) this.loops.push(this.workerLoop())
  }

  get depth(): number {
    return this.queue.length - this.head
  }

  /** Queue a job; false when the queue is full or closing (the caller then persists it itself). */
  submit(job: RevocationJob): boolean {
    if (this.stopping || this.depth >= this.options.capacity) {
      this.s.rejected++
      return false
    }
    this.queue.push(job)
    this.notify()
    return true
  }

  private notify(): void {
    const w = this.wake
    this.wake = null
    w?.()
  }

  private take(): RevocationJob[] {
    const first = this.queue[this.head]
    if (!first) return []
    const batch: RevocationJob[] = []
    // One statement per batch needs one kind per batch.
    while (batch.length < this.options.batchSize) {
      const j = this.queue[this.head]
      if (!j || j.kind !== first.kind) break
      batch.push(j)
      this.head++
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
    return batch
  }

  private async workerLoop(): Promise<void> {
    for (;;) {
      const batch = this.take()
      if (batch.length === 0) {
        if (this.inFlight === 0) for (const r of this.idleWaiters.splice(0)) r()
        if (this.stopping) return
        await new Promise<void>((resolve) => {
          const prev = this.wake
          this.wake = () => {
            prev?.()
            resolve()
          }
        })
        continue
      }
      this.inFlight++
      await this.persist(batch)
      this.inFlight--
      for (const j of batch) this.onPersisted(j)
    }
  }

  private async persist(batch: RevocationJob[]): Promise<void> {
    const records = batch.map((j) => j.record)
    const atMs = batch[0]?.atMs ?? Date.now()
    for (let attempt = 1; ; attempt++) {
      try {
        if (batch[0]?.kind === 'ott') await this.store.markOttUsed(records, atMs)
        else await this.store.revokeTokens(records, atMs)
        this.s.persisted += batch.length
        return
      } catch (err) {
        this.s.failures++
        this.s.lastError = err instanceof Error ? err.message : String(err)
        await sleep(backoffMs(attempt, this.options.retryBaseMs, this.options.retryMaxMs))
      }
    }
  }

  /** Resolves when every queued job is persisted. */
  async drain(): Promise<void> {
    if (this.depth === 0 && this.inFlight === 0) return
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve)
      this.notify()
    })
  }

  /** Refuse new jobs, persist the queued ones, stop the workers. */
  async close(): Promise<void> {
    this.stopping = true
    await this.drain()
    this.notify()
    await Promise.all(this.loops)
  }

  stats(): RevocationPoolStats {
    return { workers: this.options.workers, capacity: this.options.capacity, queued: this.depth, inFlight: this.inFlight, ...this.s }
  }
}
